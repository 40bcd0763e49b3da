"""One exception per broken rule; each knows the JSON pointer of the field at fault."""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused; nothing was stored."""

    title = "invalid"

    def __init__(self, details: str, pointer: str = "") -> None:
        super().__init__(details)
        self.details = details
        self.pointer = pointer


class InvalidField(DomainError):
    """A field's value breaks a documented limit or type."""

    def __init__(self, pointer: str, details: str, title: str = "invalid_field") -> None:
        super().__init__(details, pointer)
        self.title = title


class InvalidTransition(DomainError):
    """The requested state change is not in Talon's state machine (docs/talon.md §2.1)."""

    title = "invalid_state_transition"


class InvalidReturn(DomainError):
    """A return names no line, an ambiguous line or more units than remain."""

    title = "invalid_return"


class SessionNotFound(DomainError):
    """No session has this integration id in this application."""

    title = "not_found"


class ConcurrentUpdate(DomainError):
    """Another write to the same session won the race, repeatedly."""

    title = "conflict"

    def __init__(self) -> None:
        super().__init__("Too many requests are updating this session at the same time")
