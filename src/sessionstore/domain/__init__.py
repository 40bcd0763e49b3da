"""The pure domain: events, session state, commands. Only the standard library and msgspec."""
