"""Configuration: defaults, overridden by CASEFLAG_* environment variables.

This is the only module that reads the environment. Tests pass their own mapping to
create_app() instead.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from .errors import InvalidInput

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# The repository's data/ when running from a checkout (make run, editable installs); else the
# copy an installed wheel carries (caseflag/bundled_data, see pyproject.toml).
DEFAULT_DATA_DIR = PACKAGE_DIR.parent.parent / "data"
if not (DEFAULT_DATA_DIR / "entities").is_dir():
    DEFAULT_DATA_DIR = PACKAGE_DIR / "bundled_data"

DEFAULTS: dict[str, object] = {
    "DATA_DIR": str(DEFAULT_DATA_DIR),
    # "host:port" entries; empty means the system's resolvers (/etc/resolv.conf).
    "DNS_NAMESERVERS": [],
    # Overall budget for all DNS work of one check, in seconds.
    "DNS_BUDGET": 2.0,
    # Set false to never touch the network (the list match still works).
    "DNS_ENABLED": True,
    # Seconds between looks for changed files in DATA_DIR (0: load once at start).
    "RELOAD_INTERVAL": 30.0,
    # Where the last dataset loaded is kept, so a process started while DATA_DIR is broken serves
    # it (a pickle: a path only the service can write). `caseflag serve` sets one in its own folder.
    "LAST_GOOD_FILE": "",
    "CACHE_SIZE": 10_000,
    "CACHE_MAX_TTL": 3600,
    "CACHE_MIN_TTL": 30,
    "CACHE_FAILURE_TTL": 60,
    "MAX_BATCH": 1000,
    "MAX_BODY_BYTES": 256 * 1024,
    "HOST": "127.0.0.1",
    "PORT": 8000,
    # flask-limiter notation, per client address across the API and the pages together; a bulk
    # check counts its names (so the amount should hold a full MAX_BATCH); empty switches limits off.
    "RATE_LIMIT": "1200/minute",
    # Request threads of one process that may wait on DNS at once (`caseflag serve` keeps it below
    # --threads): the others stay free for /healthz and cached answers (dnsguard.py).
    "DNS_SLOTS": 6,
    # This many lookups in a row ending unavailable pause uncached lookups for DNS_BREAKER_SECONDS
    # (so do 3 over 4 s with no success between, on a quiet service: dnsguard.py): enough that a
    # bulk check of dead sites (each failing on its own) seldom trips it, while a dead resolver,
    # failing every lookup, trips it within one DNS budget.
    "DNS_BREAKER_FAILURES": 20,
    "DNS_BREAKER_SECONDS": 5.0,
    # Seconds a request may spend waiting on DNS in all (a bulk check: all of its names), well under
    # nginx's 60 s for an answer.
    "REQUEST_DEADLINE": 10.0,
    # Requests of one client address in progress at once at nginx (`caseflag serve`); past it, 429.
    "REQUESTS_PER_ADDRESS": 256,
    # Shared cache and rate-limit storage across workers and machines; empty: in-process only.
    "REDIS_URL": "",
    # Browser origins allowed besides the extension's own (comma-separated).
    "CORS_ORIGINS": [],
    # Addresses or networks of proxies in front of `caseflag serve` (a TLS terminator, a load
    # balancer) whose X-Forwarded-For names the client; empty: the peer itself is the client.
    "TRUSTED_PROXIES": [],
    # The user (name or uid) that `caseflag serve`, started as root, runs nginx's and gunicorn's
    # workers as. Empty: nobody, where nobody can run caseflag (else gunicorn's workers keep root's
    # rights, with a warning); named: that user, or serve stops saying what it lacks. Started as
    # another user, it changes nothing.
    "USER": "",
}

EMPTY_MEANS_OFF = frozenset({"LAST_GOOD_FILE", "RATE_LIMIT", "REDIS_URL", "CORS_ORIGINS", "DNS_NAMESERVERS", "TRUSTED_PROXIES"})


def _networks(value: str) -> list[str]:
    """'10.0.0.0/8, 192.0.2.7, ::1' -> those networks, normalised; ValueError for anything else."""
    return [str(ipaddress.ip_network(part.strip(), strict=False)) for part in value.split(",") if part.strip()]


def _cast(key: str):
    """How a CASEFLAG_<key> value is read: by the type of the key's default (a list is comma-separated)."""
    default = DEFAULTS[key]
    if key == "TRUSTED_PROXIES":
        return _networks
    if isinstance(default, bool):
        return lambda v: v.strip().lower() not in {"0", "false", "no", "off"}
    if isinstance(default, list):
        return lambda v: [part.strip() for part in v.split(",") if part.strip()]
    return type(default)


def from_environment(environ: dict[str, str] | None = None) -> dict[str, object]:
    """Defaults with every CASEFLAG_<KEY> variable applied; a bad value raises InvalidInput."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for key in DEFAULTS:
        raw = environ.get(f"CASEFLAG_{key}")
        # An empty value switches a feature off where "off" is empty (RATE_LIMIT=""), else it is unset.
        if raw is None or (raw == "" and key not in EMPTY_MEANS_OFF):
            continue
        try:
            config[key] = _cast(key)(raw)
        except ValueError as err:
            raise InvalidInput(f"CASEFLAG_{key}={raw!r} is not valid: {err}") from err
    return config


def resolve(overrides: dict[str, object] | None = None) -> dict[str, object]:
    """The configuration an app runs with: environment, then explicit overrides on top."""
    config = from_environment()
    config.update(overrides or {})
    return config
