"""gunicorn's threaded worker with caseflag's error shape, for `caseflag serve` (serving.py)."""

from __future__ import annotations

import contextlib
import json

from gunicorn import util as gunicorn_util
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine, ParseException, UnsupportedTransferCoding
from gunicorn.workers.gthread import ThreadWorker

from ..core.errors import error_body


class JsonErrorWorker(ThreadWorker):
    """gunicorn's threaded worker, refusing a request it cannot read in the one JSON error shape
    (gunicorn's own answer is an HTML page) and logging the refusal without the request line,
    which holds the query (nginx passes on little gunicorn refuses; this is the rest)."""

    def handle_error(self, req, client, addr, exc):
        if isinstance(exc, ParseException):
            status, code = (414, "too_large") if isinstance(exc, LimitRequestLine) else \
                (431, "too_large") if isinstance(exc, LimitRequestHeaders) else \
                (501, "not_implemented") if isinstance(exc, UnsupportedTransferCoding) else (400, "bad_request")
            message = "The request could not be read as HTTP (gunicorn refused it)."
            self.log.warning("refused a request it could not read: %s %s", status, code)
        else:
            status, code = 500, "internal_error"
            message = "An unexpected error occurred; it has been logged."
            self.log.error("error handling a request: %s", type(exc).__name__)
        body = json.dumps(error_body(code, message)).encode("utf-8")
        head = (f"HTTP/1.1 {status} {code.replace('_', ' ').title()}\r\nConnection: close\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                "X-Content-Type-Options: nosniff\r\n\r\n").encode("ascii")
        with contextlib.suppress(OSError):
            gunicorn_util.write_nonblock(client, head + body)
