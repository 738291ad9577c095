"""Host bridges, the OTIO plugin manifest and the command line."""
