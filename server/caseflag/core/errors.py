"""The one exception hierarchy of caseflag, and the one JSON error shape (web/errors.py turns
both into HTTP responses)."""

from __future__ import annotations

from .messages import render


class CaseflagError(Exception):
    """Base of every error caseflag raises on purpose.

    ``status`` is the HTTP status the API answers with, ``code`` a stable
    machine-readable name; both are part of the error contract.
    """

    status = 400
    code = "bad_request"

    def __init__(self, message: str | None = None, *, field: str | None = None, key: str | None = None,
                 params: dict | None = None) -> None:
        # key and params: the message's code in the catalogue (messages.py), which words it in
        # every language; message: text of its own, for errors the catalogue does not hold.
        self.key, self.params = key, params or {}
        if message is None:
            message = render(key, self.params) if key else self.code
        super().__init__(message)
        self.message = message
        self.field = field

    def message_in(self, lang: str | None) -> str:
        """The message in the language asked for (English when the catalogue does not word it)."""
        return render(self.key, self.params, lang) if self.key else self.message

    def to_dict(self, lang: str | None = None) -> dict:
        body = error_body(self.code, self.message_in(lang), self.field)
        if self.key:
            body["error"]["explanation"] = {"code": self.key, "params": self.params}
        return body


class InvalidInput(CaseflagError):
    """The request is malformed (missing parameter, wrong type). Not recoverable by retrying."""

    status = 400
    code = "invalid_input"


class InvalidDomain(CaseflagError):
    """The text cannot be a host name at all (bad characters, too long)."""

    status = 400
    code = "invalid_domain"


class NotPublicName(CaseflagError):
    """The name is well formed but not a public Internet name (localhost, private IP, bare suffix)."""

    status = 422
    code = "not_public"


class NotFound(CaseflagError):
    """No record with that id."""

    status = 404
    code = "not_found"


class TooLarge(CaseflagError):
    """Too many items or too large a body."""

    status = 413
    code = "too_large"


class DatasetError(CaseflagError):
    """The dataset in data/ cannot be loaded. Keep serving the last good one, if any."""

    status = 500
    code = "dataset_error"


def error_body(code: str, message: str, field: str | None = None) -> dict:
    """The one error shape: {"error": {"code", "message", "field"?}}."""
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    return {"error": body}
