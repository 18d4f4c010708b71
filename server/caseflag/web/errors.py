"""Errors as HTTP responses, in one place: caseflag's own (core/errors.py), Werkzeug's and any
unexpected one, each in the one JSON error shape."""

from __future__ import annotations

from flask import jsonify, make_response, request
from werkzeug.exceptions import HTTPException

from ..core.errors import CaseflagError, error_body
from ..core.messages import languages


def error_response(status: int, code: str, message: str, field: str | None = None):
    return make_response(jsonify(error_body(code, message, field)), status)


_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def init_app(app) -> None:
    """Turn every error, ours or Werkzeug's, into the one JSON shape; never an HTML page."""

    @app.errorhandler(CaseflagError)
    def _caseflag_error(err: CaseflagError):
        lang = request.args.get("lang") or request.accept_languages.best_match(languages())
        return jsonify(err.to_dict(lang)), err.status

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        status = err.code or 500
        response = error_response(status, _HTTP_CODES.get(status, "http_error"), err.description or err.name)
        if status == 405 and getattr(err, "valid_methods", None):
            response.headers["Allow"] = ", ".join(err.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", "An unexpected error occurred; it has been logged.")
