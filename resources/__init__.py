"""Package data: the default model, demo media."""
