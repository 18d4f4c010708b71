"""P1's baseline: a bare Flask JSON endpoint, served by caseflag's own gunicorn setup.

    python bench/bare_app.py --port 8100 [--payload answer.json]

The view returns a fixed dict (by default a recorded /api/v1/check answer, so both sides send
the same bytes): what is left is Flask, JSON encoding and nginx in front of gunicorn, configured
by the very code `caseflag serve` runs (serving.run_gunicorn), with its default workers and threads.
"""

from __future__ import annotations

import argparse
import json
import sys

from flask import Flask

from caseflag.core import config as config_module
from caseflag.commands import serving
from caseflag.commands.cli import _default_workers, build_parser


def create_bare_app(payload: dict) -> Flask:
    app = Flask(__name__)
    app.json.sort_keys = False

    @app.get("/api/v1/check")
    def check():
        return payload

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--payload", help="a JSON file with the object to answer (default: a tiny one)")
    args = parser.parse_args(argv)
    payload = {"status": "ok"}
    if args.payload:
        with open(args.payload, encoding="utf-8") as stream:
            payload = json.load(stream)
    app = create_bare_app(payload)
    # Serve with exactly what `caseflag serve` runs: its options, workers and threads; only the app differs.
    serving._Gunicorn.load = lambda self: app
    serve_defaults = build_parser().parse_args(["serve"])
    settings = config_module.resolve({"PORT": args.port})
    return serving.run_gunicorn(settings, workers=serve_defaults.workers or _default_workers(),
                                threads=serve_defaults.threads)


if __name__ == "__main__":
    sys.exit(main())
