"""Everything that is not Qt and not a host API."""
