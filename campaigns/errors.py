"""Errors a user can act on: each carries a one-line message and a hint saying what to do."""

from __future__ import annotations


class CampaignError(Exception):
    """Base class: ``str(err)`` is the message, ``err.hint`` what the user should do."""

    status_code = 400

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class ConfigurationError(CampaignError):
    """A setting (environment variable, ``.env``) is missing or malformed."""


class InvalidArgumentError(CampaignError):
    """An argument the user gave (option, body field, name) is not acceptable here."""

    status_code = 422


class NotFoundError(CampaignError):
    """A campaign, sample or file the user named does not exist."""

    status_code = 404


class EmptySelectionError(CampaignError):
    """A window or a filter selects nothing."""

    status_code = 422


class ServiceUnavailableError(CampaignError):
    """Label Studio or the object storage cannot be reached."""

    status_code = 503


class ConflictError(CampaignError):
    """The request contradicts the campaign's state (e.g. an export already running)."""

    status_code = 409


class InputFormatError(CampaignError):
    """An input file cannot be read at all."""

    status_code = 422
