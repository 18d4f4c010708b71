"""The application factory: configuration, the service, blueprints and the error handler."""

from __future__ import annotations

from flask import Flask

from . import config as config_module
from . import errors, ratelimit
from .lookup import create_service


def create_app(config: dict | None = None) -> Flask:
    """Build the app. `config` overrides the CASEFLAG_* environment and the defaults."""
    app = Flask(__name__)
    settings = config_module.resolve(config)
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_BODY_BYTES"]
    app.json.sort_keys = False
    app.extensions["caseflag"] = create_service(settings)

    errors.init_app(app)
    limiter = ratelimit.init_app(app)
    from .api import api, health

    if limiter is not None:
        limiter.exempt(health)
    app.register_blueprint(api)
    app.register_blueprint(health)
    from .pages import pages

    app.register_blueprint(pages)
    return app
