"""Production serving: nginx in front of gunicorn (threads per worker; the app built in each worker).

gunicorn's gthread worker reads a request's line and headers in a thread, blocking: 16 clients that
send half a request (2 workers x 8 threads) would stop the service. nginx reads them in its event
loop under one deadline and hands gunicorn only complete ones, over a private Unix socket, so a slow
client costs one nginx connection, not a thread. Bodies stream on (a stalled one gets the app's
408), and gunicorn_worker.BodyGuard bounds the threads waiting for them. The bounds are in
SLOW_CLIENT_LIMITS and BODY_LIMITS. Started as root, the workers run as CASEFLAG_USER.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from gunicorn.app.base import BaseApplication
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import WSGIRequestHandler

from .gunicorn_worker import JsonErrorWorker, body_slots
from .nginxconf import (SLOW_CLIENT_LIMITS, FrontProxyError, nginx_binary, nginx_config, scrub_nginx_log,
                        unprivileged_user)

__all__ = ["SLOW_CLIENT_LIMITS", "FrontProxy", "FrontProxyError", "PrivateRequestHandler", "run_gunicorn"]

# No client address and no query string: a log line never ties a visitor to a site.
ACCESS_LOG_FORMAT = '"%(m)s %(U)s" %(s)s %(b)s %(M)sms'


class _Gunicorn(BaseApplication):
    def __init__(self, settings: dict, options: dict) -> None:
        self.settings, self.options = settings, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key == "control_socket" and key not in self.cfg.settings:
                continue  # a gunicorn before its control socket: nothing to share between instances
            self.cfg.set(key, value)

    def load(self):
        from ..web.app import create_app

        return create_app(self.settings)

    def wsgi(self):
        if self.callable is None:
            # nginx sets X-Forwarded-For to the peer's address (replacing any a client sent), so the
            # last one is the client's: what rate limits count per address.
            self.callable = ProxyFix(self.load(), x_for=1)
        return self.callable


def _holds_pid(pidfile: Path, pid: int) -> bool:
    try:
        return pidfile.read_text(encoding="ascii").strip() == str(pid)
    except (OSError, UnicodeDecodeError):
        return False


class FrontProxy:
    """nginx as a child process, configured by nginx_config, stopped with `caseflag serve`."""

    def __init__(self, settings: dict, workdir: Path, upstream: str) -> None:
        config = workdir / "nginx.conf"
        config.write_text(nginx_config(settings, upstream, workdir), encoding="utf-8")
        self.command = [nginx_binary(), "-e", "stderr", "-p", str(workdir), "-c", str(config)]
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        self.failure: str | None = None  # why nginx could not start
        self._stopping = False

    def check(self) -> None:
        done = subprocess.run([*self.command, "-t", "-q"], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise FrontProxyError(f"nginx refused the configuration caseflag wrote: {done.stderr.strip()}")

    def start(self) -> None:
        """Start nginx and wait until it listens; if it cannot (the port is taken), stop gunicorn too.

        Readiness is nginx's pid in its pid file, written once its sockets are bound (`nginx -t`
        leaves it empty); its exit status is no use: gunicorn's master reaps every child it has."""
        pidfile = self.workdir / "nginx.pid"
        self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True, errors="replace")
        threading.Thread(target=self._relay_log, name="nginx-log", daemon=True).start()
        deadline = time.monotonic() + 15
        while not _holds_pid(pidfile, self.process.pid):
            if self._ended() or time.monotonic() > deadline:
                self.failure = ("nginx did not start listening on the address (its message is above; is the port "
                                "in use?)")
                os.kill(os.getpid(), signal.SIGTERM)  # gunicorn's arbiter: a graceful stop
                return
            time.sleep(0.02)
        threading.Thread(target=self._watch, name="nginx-watch", daemon=True).start()

    def _relay_log(self) -> None:
        """nginx's error log to ours, each line scrubbed (nginx cannot leave the client out itself)."""
        for line in self.process.stderr:
            print(scrub_nginx_log(line), file=sys.stderr, flush=True)

    def _ended(self) -> bool:
        try:
            return self.process.poll() is not None
        except ChildProcessError:  # reaped by gunicorn's master
            return True

    def _watch(self) -> None:
        """nginx ending on its own later (a crash, a stop) stops gunicorn too: nothing would reach it."""
        with contextlib.suppress(ChildProcessError):
            self.process.wait()
        if not self._stopping:
            os.kill(os.getpid(), signal.SIGTERM)

    def stop(self) -> None:
        self._stopping = True
        if self.process is None:
            return
        # The watcher thread may be waiting on the process too, so returncode, not poll(), says if it ended.
        with contextlib.suppress(ProcessLookupError):
            if self.process.returncode is None:
                self.process.send_signal(signal.SIGQUIT)  # graceful: finish the answers in flight
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def run_gunicorn(settings: dict, workers: int, threads: int) -> int:
    """Serve on HOST:PORT: nginx there, gunicorn behind it on a private socket."""
    options = {"workers": workers, "threads": threads, "worker_class": JsonErrorWorker, "accesslog": "-",
               "access_log_format": ACCESS_LOG_FORMAT, "timeout": 30, "graceful_timeout": 10}
    nginx_binary()  # a clear error before anything is made
    workdir = Path(tempfile.mkdtemp(prefix="caseflag-serve-"))
    upstream = str(workdir / "gunicorn.sock")
    # A worker started while data/ is broken serves the dataset kept here (dataset.DatasetStore);
    # two threads of each worker stay free of DNS waits (dnsguard.py) and of waits for bodies (BodyGuard).
    settings = {**settings, "LAST_GOOD_FILE": settings.get("LAST_GOOD_FILE") or str(workdir / "state" / "last-good.pickle"),
                "DNS_SLOTS": max(1, min(int(settings["DNS_SLOTS"]), threads - 2 - body_slots(threads)))}
    try:
        options.update(unprivileged_workers(settings, workdir))
        proxy = FrontProxy(settings, workdir, upstream)
        proxy.check()
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    options.update(bind=f"unix:{upstream}", keepalive=30,
                   control_socket=str(workdir / "gunicorn.ctl"),  # one per instance: stopping one keeps the others'
                   # nginx only listens once gunicorn does, so it never answers 502 at start-up.
                   when_ready=lambda server: proxy.start(), on_exit=lambda server: proxy.stop())
    master = os.getpid()
    try:
        _Gunicorn(settings, options).run()  # ends in sys.exit() when stopped
    finally:
        # Each forked worker leaves through here as well (its SystemExit unwinds this frame): only
        # the master may stop nginx and remove the socket's folder.
        if os.getpid() == master:
            proxy.stop()
            with contextlib.suppress(OSError):
                shutil.rmtree(workdir)
            if proxy.failure:
                raise FrontProxyError(proxy.failure)  # in place of gunicorn's SystemExit(0): a failed start
    return 0


def unprivileged_workers(settings: dict, workdir: Path) -> dict:
    """Make serve's folder, whose `state` folder holds the last good dataset. Started as root: the
    options that run gunicorn's workers as CASEFLAG_USER (nobody), that folder theirs alone, once
    that user proves able to run caseflag, read the data and write that folder (if not: an error
    for a user named in CASEFLAG_USER, a warning and root workers for the default nobody). Started
    as another user: no options. The master stays root, as nginx's does: it starts nginx (maybe on
    a port below 1024), stops it and removes this folder; it reads nothing a client sends."""
    (workdir / "state").mkdir(mode=0o700)
    if os.geteuid() != 0:
        return {}
    account, _ = unprivileged_user(str(settings["USER"]))
    if account.pw_uid == 0:
        print("caseflag: warning: CASEFLAG_USER=root: gunicorn's and nginx's workers run as root", file=sys.stderr)
        return {}
    os.chmod(workdir, 0o711)  # the workers reach the sockets and their folder by name, list nothing
    os.chown(workdir / "state", account.pw_uid, account.pw_gid)
    needs = {"python": f"run this Python and import caseflag ({sys.executable}, {sys.prefix})",
             settings["DATA_DIR"]: f"read every file of the data folder {settings['DATA_DIR']}",
             str(Path(settings["LAST_GOOD_FILE"]).parent): f"write in {Path(settings['LAST_GOOD_FILE']).parent}"}
    redis = urlsplit(str(settings.get("REDIS_URL") or ""))
    if redis.scheme == "unix":
        needs[redis.path] = f"connect to Redis's socket {redis.path}"
    try:
        found = subprocess.run([sys.executable, "-c", _ACCESS_CHECK, *list(needs)[1:]], user=account.pw_uid,
                               group=account.pw_gid,
                               extra_groups=os.getgrouplist(account.pw_name, account.pw_gid), cwd="/",
                               capture_output=True, text=True,
                               check=False, timeout=60)
        missing = [line for line in found.stdout.splitlines() if line] if found.returncode in (0, 3) else ["python"]
    except OSError:
        missing = ["python"]
    if missing and not settings["USER"]:  # nobody by default: where nobody cannot, say so and keep going
        print(f"caseflag: warning: gunicorn's workers keep root's rights: {account.pw_name} cannot "
              f"{needs.get(missing[0], missing[0])}; name a user who can in CASEFLAG_USER", file=sys.stderr)
        return {}
    if missing:
        raise FrontProxyError(f"caseflag serve, started as root, runs gunicorn's workers as {account.pw_name} "
                              f"(CASEFLAG_USER), who cannot {needs.get(missing[0], missing[0])}: give that user access (and "
                              "search on every folder above), or name another user in CASEFLAG_USER (root keeps "
                              "the workers as root, which is not advised)")
    return {"user": account.pw_uid, "group": account.pw_gid}  # JsonErrorWorker sets that user's other groups


# Run as the workers' user: imports caseflag as a worker will, prints each path (argv: the data
# folder, then paths to write) it may not use as serve needs, and exits 3 if any.
_ACCESS_CHECK = """
import os, sys
import caseflag.web.app
data, *written = sys.argv[1:]
bad = [path for path in written if not os.access(path, os.W_OK | (os.X_OK if os.path.isdir(path) else 0))]
readable = os.access(data, os.R_OK | os.X_OK)
for folder, _, files in os.walk(data, onerror=lambda err: None):
    readable = readable and os.access(folder, os.R_OK | os.X_OK)
    readable = readable and all(os.access(os.path.join(folder, name), os.R_OK) for name in files)
print("\\n".join(bad + ([] if readable else [data])))
sys.exit(3 if bad or not readable else 0)
"""


class PrivateRequestHandler(WSGIRequestHandler):
    """Flask's development server, logging like gunicorn here: no client address, no query string."""

    def log_request(self, code="-", size="-") -> None:
        self.log("info", '"%s %s" %s %s', self.command, self.path.split("?", 1)[0], code, size)

    def address_string(self) -> str:
        return "-"

    def log(self, type: str, message: str, *args) -> None:
        # http.server's own lines (a malformed request's "Bad request syntax ('GET /?domain=…')")
        # quote the request line: cut every query from them.
        super().log(type, "%s", _QUERY.sub("", message % args if args else message))


_QUERY = re.compile(r"\?[^\s'\"]*")
