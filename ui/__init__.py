"""The PySide6 panel; talks to the engine only through the client."""
