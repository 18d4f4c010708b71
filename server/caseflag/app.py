"""The application factory: configuration, the service, blueprints and the error handler."""

from __future__ import annotations

from flask import Flask

from . import config as config_module
from . import errors, ratelimit
from .cache import SharedCache, TTLStore
from .dataset import DatasetStore
from .lookup import LookupService
from .network import Resolver
from .verdict import Infrastructure


def make_cache(config: dict):
    """The in-process cache, with Redis behind it when CASEFLAG_REDIS_URL is set."""
    local = TTLStore(int(config["CACHE_SIZE"]))
    if not config.get("REDIS_URL"):
        return local
    return SharedCache(local, str(config["REDIS_URL"]), Infrastructure.to_json, Infrastructure.from_json)


def create_service(config: dict) -> LookupService:
    """The Flask-free service the API and the CLI share, built from a resolved config."""
    return LookupService(
        store=DatasetStore(config["DATA_DIR"], check_every=float(config["RELOAD_INTERVAL"])),
        resolver=Resolver(config["DNS_NAMESERVERS"], float(config["DNS_BUDGET"])),
        cache=make_cache(config),
        dns_enabled=bool(config["DNS_ENABLED"]),
        min_ttl=int(config["CACHE_MIN_TTL"]),
        max_ttl=int(config["CACHE_MAX_TTL"]),
        failure_ttl=int(config["CACHE_FAILURE_TTL"]),
    )


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
