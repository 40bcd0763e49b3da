"""Pure folds from a session's events to Talon.One's read shapes; one module per read model."""
