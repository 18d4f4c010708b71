"""Production serving with gunicorn (threads per worker; the app is built in each worker)."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication
from werkzeug.serving import WSGIRequestHandler

# No client address and no query string: a log line never ties a visitor to a site.
ACCESS_LOG_FORMAT = '"%(m)s %(U)s" %(s)s %(b)s %(M)sms'


class _Gunicorn(BaseApplication):
    def __init__(self, settings: dict, options: dict) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from .app import create_app

        return create_app(self.settings)


def run_gunicorn(settings: dict, workers: int, threads: int) -> int:
    options = {
        "bind": f"{settings['HOST']}:{settings['PORT']}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "timeout": 30,
        "graceful_timeout": 10,
    }
    _Gunicorn(settings, options).run()
    return 0


class PrivateRequestHandler(WSGIRequestHandler):
    """Flask's development server, logging like gunicorn here: no client address, no query string."""

    def log_request(self, code="-", size="-") -> None:
        path = self.path.split("?", 1)[0]
        self.log("info", '"%s %s" %s %s', self.command, path, code, size)

    def address_string(self) -> str:
        return "-"
