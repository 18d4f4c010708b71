"""Per-client rate limits (flask-limiter) and the browser origins allowed to call the API (flask-cors)."""

from __future__ import annotations

from flask import Flask
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# The extension's own pages; any operator-configured origins are added to these.
EXTENSION_ORIGINS = [r"chrome-extension://[a-p]{32}", r"moz-extension://[0-9a-fA-F-]{36}"]


def init_app(app: Flask) -> Limiter | None:
    """Allow the extension's origins; rate-limit every view per client address when a limit is set.

    Over the limit the answer is 429 with Retry-After, in the one error shape. With no limit
    configured no limiter is installed at all, so it costs nothing per request.
    """
    origins = EXTENSION_ORIGINS + list(app.config.get("CORS_ORIGINS") or [])
    # ETag exposed: the extension's list update sends If-None-Match and needs the tag to get a 304,
    # also where it holds no host permission for the server and reads answers through CORS alone.
    CORS(app, resources={r"/api/*": {"origins": origins}, r"/healthz": {"origins": origins}},
         expose_headers=["ETag"])
    if not app.config.get("RATE_LIMIT"):
        return None
    storage = app.config.get("REDIS_URL") or "memory://"
    limiter = Limiter(
        get_remote_address,
        app=app,
        default_limits=[app.config["RATE_LIMIT"]],
        storage_uri=storage,
        headers_enabled=True,
        # When Redis is down, fall back to limits kept in memory rather than failing requests.
        in_memory_fallback_enabled=storage != "memory://",
        swallow_errors=True,
    )
    return limiter
