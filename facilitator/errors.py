"""Errors a user can act on. Every message names the problem and the fix."""


class FacilitatorError(Exception):
    """Base class: the CLI prints ``str(err)`` on one line and exits non-zero."""


class InputError(FacilitatorError):
    """A cards file, register or statement list the user gave is not usable."""


class ConfigError(FacilitatorError):
    """A setting is missing or wrong (e.g. no API key for the chosen model)."""


class ModelOutputError(FacilitatorError):
    """The model's reply could not be validated after every repair attempt."""

    def __init__(self, message: str, *, attempts: int = 0, last_reply: str = ""):
        super().__init__(message)
        self.attempts = attempts
        self.last_reply = last_reply


class ModelCallError(FacilitatorError):
    """The provider could not be reached in time (timeout, 5xx, budget)."""


class DatabaseUnavailable(FacilitatorError):
    """The database did not answer (restarting, locked, read-only, unreachable)."""
