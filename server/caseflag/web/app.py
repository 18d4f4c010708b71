"""The application factory: configuration, the service, blueprints and the error handler."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response

from ..core import config as config_module
from . import errors, ratelimit
from .api import api, health
from .pages import pages
from ..service.dnsguard import DnsGuard
from ..service.lookup import create_service

# Every answer: no MIME sniffing, no referrer to other sites, never inside another site's frame.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# The pages load their own style sheet and nothing else: no script, no inline style, no frames.
PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'none'")
API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"


def create_app(config: dict | None = None) -> Flask:
    """Build the app. `config` overrides the CASEFLAG_* environment and the defaults."""
    app = Flask(__name__)
    settings = config_module.resolve(config)
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_BODY_BYTES"]
    app.json.sort_keys = False
    app.json.ensure_ascii = False  # UTF-8 as it is, like the answers msgspec encodes
    service = create_service(settings)
    service.guard = DnsGuard(slots=int(settings["DNS_SLOTS"]), failures=int(settings["DNS_BREAKER_FAILURES"]),
                             pause=float(settings["DNS_BREAKER_SECONDS"]),
                             deadline=float(settings["REQUEST_DEADLINE"]))
    app.extensions["caseflag"] = service
    app.before_request(service.guard.begin_request)
    app.teardown_request(lambda _error: service.guard.end_request())
    app.after_request(_hardened)

    errors.init_app(app)
    limiter = ratelimit.init_app(app)
    if limiter is not None:
        limiter.exempt(health)
    for blueprint in (api, health, pages):
        app.register_blueprint(blueprint)
    return app


def _hardened(response: Response) -> Response:
    """Security headers on every answer; a redirect's Location as a path, never built from Host."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy", PAGE_CSP if response.mimetype == "text/html" else API_CSP)
    if response.location:
        # Werkzeug's redirects (e.g. /api//v1/check -> /api/v1/check) name the Host a client sent.
        parts = urlsplit(response.location)
        response.headers["Location"] = parts.path + (f"?{parts.query}" if parts.query else "")
    return response
