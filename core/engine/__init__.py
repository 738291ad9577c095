"""The job API (generate takes for clip jobs), the local server and its client."""
