"""Per-client rate limits (flask-limiter) and the browser origins allowed to call the API (flask-cors)."""

from __future__ import annotations

import time

from flask import Flask, current_app, request
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException

from . import limits
from ..core.errors import CaseflagError
from .errors import error_response

# The extension's own pages, anchored at both ends (flask-cors matches from the start only, so an
# unanchored pattern would also let chrome-extension://<id>.evil.example through).
EXTENSION_ORIGINS = [r"^chrome-extension://[a-p]{32}\Z", r"^moz-extension://[0-9a-fA-F-]{36}\Z"]
# Redis answers in well under a millisecond on a LAN: past this it is treated as down at once
# (flask-limiter then counts in memory, and tries Redis again after a growing pause).
REDIS_TIMEOUT = 0.1


def init_app(app: Flask) -> Limiter | None:
    """Allow the extension's origins; rate-limit the whole app per client address when a limit is set.

    One count per address across the API and the pages (an application-wide limit, not one per
    endpoint); a bulk check costs its number of names. Over the limit the answer is 429 with
    Retry-After, in the one error shape; other answers carry no rate-limit headers. With no limit
    configured no limiter is installed at all, so it costs nothing per request.
    """
    # An operator's origins hold no pattern characters, so flask-cors compares them as whole text.
    origins = EXTENSION_ORIGINS + list(app.config.get("CORS_ORIGINS") or [])
    # ETag exposed: the extension's list update sends If-None-Match and needs the tag to get a 304,
    # also where it holds no host permission for the server and reads answers through CORS alone.
    CORS(app, resources={r"/api/*": {"origins": origins}, r"/healthz": {"origins": origins}},
         expose_headers=["ETag"])
    if not app.config.get("RATE_LIMIT"):
        return None
    redis_url = app.config.get("REDIS_URL")
    limiter = Limiter(
        get_remote_address,
        app=app,
        application_limits=[app.config["RATE_LIMIT"]],
        application_limits_cost=_cost,
        storage_uri=redis_url or "memory://",
        storage_options={"socket_timeout": REDIS_TIMEOUT, "socket_connect_timeout": REDIS_TIMEOUT} if redis_url else {},
        headers_enabled=False,
        # When Redis is down, fall back to limits kept in memory rather than failing requests.
        in_memory_fallback_enabled=bool(redis_url),
        swallow_errors=True,
    )
    app.register_error_handler(429, lambda err: _too_many(limiter, err))
    return limiter


def _cost() -> int:
    """What a request counts against the limit: 1, or a bulk check's names (at most MAX_BATCH)."""
    if request.method != "POST" or request.endpoint != "api.check_many" or not request.is_json:
        return 1
    try:
        body = limits.load_json(request.get_data())  # kept: the view reads the same bytes again
    except (CaseflagError, HTTPException):
        return 1  # refused by the view with its own message (a malformed or too large body)
    domains = body.get("domains") if isinstance(body, dict) else None
    count = len(domains) if isinstance(domains, list) else 1
    return max(1, min(count, int(current_app.config["MAX_BATCH"])))


def _too_many(limiter: Limiter, err):
    limit = limiter.current_limit
    wait = max(1, int(limit.reset_at - time.time())) if limit is not None else 60
    response = error_response(429, "rate_limited",
                              f"Too many requests from this address (limit: {err.description}; a bulk check counts "
                              f"each name); retry after {wait} s.")
    response.headers["Retry-After"] = str(wait)
    return response
