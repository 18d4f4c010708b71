"""gunicorn's threaded worker for `caseflag serve`, with caseflag's error shape and bounded waits
for request bodies. nginx streams bodies on as they arrive, so that a stalled one gets the app's 408
in the JSON error shape (nginx's own body timeout closes without an answer); a thread waiting for a
body is one the other requests cannot have, so BodyGuard bounds how many may wait and how long.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import select
import socket
import threading
import time
from typing import NoReturn

from gunicorn import util as gunicorn_util
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine, ParseException, UnsupportedTransferCoding
from gunicorn.workers.gthread import ThreadWorker

from ..core.errors import error_body
from ..web.limits import BodyBusy, BodyTimeout

# How long the app waits for a request body (the README's limits section lists them).
BODY_LIMITS = {
    "idle_seconds": 5,  # at most this long for the next bytes of a body
    "whole_seconds": 15,  # all of a body within this, from the end of its headers
}


def body_slots(threads: int) -> int:
    """Threads of one worker that may wait for a body at once: a quarter of them, at least one."""
    return max(1, threads // 4)


class BodyGuard:
    """The client's socket as gunicorn's parser sees it while a request's body is read.

    Bytes already there are taken at once. Waiting for more takes one of the worker's body slots:
    with none free the request is refused at once (BodyBusy, 503), so slow bodies never hold more
    than the slots' threads (a short wait without a slot let 64 stalled bodies hold every thread for
    seconds). A wait is bounded by BODY_LIMITS, past them BodyTimeout (408); either error repeats on
    every later read, and the connection closes after the answer."""

    def __init__(self, sock: socket.socket, slots: threading.Semaphore) -> None:
        self.sock, self.slots = sock, slots
        self.deadline = time.monotonic() + BODY_LIMITS["whole_seconds"]
        self.failure: Exception | None = None

    def recv(self, size: int) -> bytes:
        if self.failure is None and time.monotonic() >= self.deadline:
            self.fail(BodyTimeout(f"The request body did not arrive within {BODY_LIMITS['whole_seconds']} s."))
        if self.failure is not None:
            raise self.failure
        with contextlib.suppress(BlockingIOError):
            return self.sock.recv(size, socket.MSG_DONTWAIT)
        if not self.slots.acquire(blocking=False):
            self.fail(BodyBusy("Too many request bodies are arriving slowly at once; send it again in a moment."))
        try:
            while True:
                if not self.readable(min(BODY_LIMITS["idle_seconds"], self.deadline - time.monotonic())):
                    self.fail(BodyTimeout(f"The request body stopped arriving (nothing for "
                                          f"{BODY_LIMITS['idle_seconds']} s, or not all of it within "
                                          f"{BODY_LIMITS['whole_seconds']} s)."))
                with contextlib.suppress(BlockingIOError):
                    return self.sock.recv(size, socket.MSG_DONTWAIT)
        finally:
            self.slots.release()

    def readable(self, seconds: float) -> bool:
        """Whether bytes (or the end) arrive within `seconds`."""
        if seconds <= 0:
            return False
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        return bool(poller.poll(seconds * 1000))

    def fail(self, error: Exception) -> NoReturn:
        self.failure = error
        raise error


def carries_body(req) -> bool:
    """Whether a request announces a body (a length above 0, or a transfer coding)."""
    return any(name == "TRANSFER-ENCODING" or (name == "CONTENT-LENGTH" and value.strip() not in ("", "0"))
               for name, value in req.headers)


class JsonErrorWorker(ThreadWorker):
    """gunicorn's threaded worker, refusing a request it cannot read in the one JSON error shape
    (gunicorn's own answer is an HTML page) and logging the refusal without the request line,
    which holds the query (nginx passes on little gunicorn refuses; this is the rest); a request's
    body is read through a BodyGuard."""

    def init_process(self):
        self.body_slots = threading.BoundedSemaphore(body_slots(self.cfg.threads))
        if os.geteuid() == 0 and self.cfg.uid != 0:
            # gunicorn then sets the group and the user (`user`, `group`), and would leave root's
            # supplementary groups (its `initgroups` sets these but skips the group): the user's own.
            os.initgroups(pwd.getpwuid(self.cfg.uid).pw_name, self.cfg.gid)
        super().init_process()  # runs the worker's loop: last, as gunicorn asks

    def handle_request(self, req, conn):
        if not carries_body(req):
            return super().handle_request(req, conn)
        # The connection closes after the answer: a body the app left unread (or could not read)
        # is never drained by this thread, and its rest cannot be taken for the next request.
        req.force_close()
        unreader = conn.parser.unreader
        unreader.sock = BodyGuard(conn.sock, self.body_slots)
        try:
            return super().handle_request(req, conn)
        finally:
            unreader.sock = conn.sock

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
