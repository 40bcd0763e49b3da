"""The pure domain: events, session state, commands. Imports only the standard library and msgspec."""
