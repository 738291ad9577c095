"""Visual feature extractors behind one interface, registered by name."""
