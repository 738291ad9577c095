"""FoleyWorld procedural audio-visual data."""
