"""The one exception tree. Core code raises these; three boundaries (DIMSE, web, CLI) translate them."""

from __future__ import annotations


class RaiError(Exception):
    """Base of every error the module raises on purpose."""


class ConfigError(RaiError):
    """A configuration key is missing, unknown or has a wrong value; ``key`` is the dotted key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.reason = message


class DatabaseError(RaiError):
    """The database could not be reached or refused a statement."""


class SchemaMissing(DatabaseError):
    """The database answers, but the module's tables (or the RIS view) are not there: what to run is said."""


class NotFound(RaiError):
    """A named thing (task, exam, object) does not exist."""


class InvalidInput(RaiError):
    """Input from a user or a peer is not acceptable; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class PortInUse(RaiError):
    """A listener (the DICOM SCP, the HTTP API) could not bind its address: another program holds it."""

    def __init__(self, listener: str, host: str, port: int) -> None:
        super().__init__(f"{listener} port {host or '0.0.0.0'}:{port} is already in use by another program")
        self.listener = listener
        self.port = port


class NoTerminal(RaiError):
    """A command would prompt for a secret but stdin is not a terminal (a script, a pipe, a service)."""
