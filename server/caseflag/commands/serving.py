"""Production serving: nginx in front, gunicorn behind it (threads per worker; the app is built in
each worker).

gunicorn's gthread worker reads a request's line and headers in one of its threads, blocking: a
client that sends half a request holds that thread, and 16 of them (2 workers x 8 threads) stop
the service. nginx reads every request in its event loop, with a deadline for the whole header,
and hands gunicorn only complete requests, body included, over a private Unix socket. So a slow
or idle client costs one nginx connection, never a thread. The bounds are in SLOW_CLIENT_LIMITS.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from gunicorn.app.base import BaseApplication
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import WSGIRequestHandler

from ..core.errors import CaseflagError, error_body
from .gunicorn_worker import JsonErrorWorker

# No client address and no query string: a log line never ties a visitor to a site.
ACCESS_LOG_FORMAT = '"%(m)s %(U)s" %(s)s %(b)s %(M)sms'

# What a client gets before nginx closes its connection (the README's limits section lists them).
SLOW_CLIENT_LIMITS = {
    "header_seconds": 5,  # the request line and every header, all of them, within this
    "body_idle_seconds": 5,  # at most this long between two reads of a body
    "send_idle_seconds": 10,  # at most this long between two writes of an answer the client reads slowly
    "keepalive_seconds": 15,  # an idle kept-alive connection
    "header_line_bytes": 8192,  # the request line, and each header line
    "header_lines_buffers": 4,  # how many header lines of that size at most (the rest must be short)
    "connections": 16384,  # connections nginx holds at once, all clients together
}
# nginx's workers run as this user when caseflag serve is started as root (never as root itself).
UNPRIVILEGED = ("nobody", "nogroup")

_NGINX_ERRORS = {  # status -> (code, message): nginx's own refusals, in the one error shape
    400: ("bad_request", "The request is malformed (a header or the request line is too long, not ASCII, or not "
                         "HTTP)."),
    408: ("request_timeout", "The request did not arrive in time."),
    429: ("rate_limited", "Too many requests from this address are in progress at once (at most {per_address}); "
                          "send the next when one has been answered."),
    405: ("method_not_allowed", "That method is not allowed here."),
    411: ("length_required", "A request with a body must say its length."),
    413: ("too_large", "The body is larger than {max_body} bytes."),
    414: ("too_large", "The request line is longer than {line} bytes."),
    494: ("too_large", "A header is longer than {line} bytes."),
    500: ("internal_error", "An unexpected error occurred in the front proxy; it has been logged."),
    501: ("not_implemented", "That transfer coding or method is not supported."),
    502: ("unavailable", "The service is starting or restarting; try again in a moment."),
    503: ("unavailable", "The service is overloaded; try again in a moment."),
    504: ("unavailable", "The service did not answer in time; try again in a moment."),
    505: ("bad_request", "Only HTTP/1.0 and HTTP/1.1 are served."),
}


class FrontProxyError(CaseflagError):
    """nginx, which `caseflag serve` puts in front of gunicorn, is missing or would not start."""

    status = 500
    code = "serve_error"


class _Gunicorn(BaseApplication):
    def __init__(self, settings: dict, options: dict, behind_proxy: bool = False) -> None:
        self.settings = settings
        self.options = options
        self.behind_proxy = behind_proxy
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
            app = self.load()
            # nginx sets X-Forwarded-For to the peer's address (replacing any a client sent), so the
            # last one is the client's: what rate limits count per address.
            self.callable = ProxyFix(app, x_for=1) if self.behind_proxy else app
        return self.callable


def nginx_config(settings: dict, upstream: str, workdir: Path) -> str:
    """The nginx configuration: listen where `caseflag serve` should, buffer, forward to gunicorn.

    No access log; the error log at warn, each line scrubbed of the client's address, request
    line and host by FrontProxy (nginx writes them into every line about a request).
    """
    pages, locations = _error_pages(settings)
    temp = "\n".join(f"    {kind}_temp_path {workdir / kind};" for kind in
                      ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = f"user {' '.join(unprivileged_user())};\n" if os.geteuid() == 0 else ""
    files, connections = _connection_budget()
    host = settings["HOST"]
    listen = f"[{host}]" if ":" in str(host) else host
    return f"""# written by caseflag serve; see caseflag/serving.py
{user}daemon off;
worker_processes 1;
pid {workdir / "nginx.pid"};
worker_rlimit_nofile {files};
# warn: an address over its limit, too few connections, upstream trouble. Lines pass through
# scrub_nginx_log, which cuts the client, request line and host from each.
error_log stderr warn;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    server_tokens off;
    absolute_redirect off;  # a redirect of nginx's own never names the Host a client sent
{temp}
{_client_limits(int(settings["MAX_BODY_BYTES"]))}
    # Idle connections to gunicorn end here before gunicorn ends them (its keepalive is 30 s): a
    # request sent on one gunicorn was closing would fail, and a POST is not retried.
    upstream caseflag {{ server unix:{upstream}; keepalive 64; keepalive_timeout 20s; }}
    server {{
        listen {listen}:{int(settings["PORT"])} backlog=4096;
{_real_client(settings.get("TRUSTED_PROXIES") or [])}{chr(10).join(pages)}
        limit_conn per_address {int(settings["REQUESTS_PER_ADDRESS"])};
        location / {{
            # Only printable ASCII (! to ~) in the request target, as RFC 9112 allows: gunicorn would
            # refuse the rest in HTML and log the line, query included. Here, not at the server level,
            # where the error page's own internal redirect would meet the test again.
            if ($request_uri ~ "[^!-~]") {{ return 400; }}
            proxy_pass http://caseflag;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_read_timeout 60s;
            proxy_intercept_errors off;
        }}
{chr(10).join(locations)}
    }}
}}
"""


def _client_limits(max_body: int) -> str:
    """nginx's bounds on what a client may send and how slowly (SLOW_CLIENT_LIMITS), and the zone
    that counts each address's requests in progress."""
    limits = SLOW_CLIENT_LIMITS
    return f"""    client_header_timeout {limits["header_seconds"]}s;
    client_body_timeout {limits["body_idle_seconds"]}s;
    send_timeout {limits["send_idle_seconds"]}s;
    keepalive_timeout {limits["keepalive_seconds"]}s;
    # Off: a client that timed out gets an orderly close, not a reset (nginx sends no 408 either way).
    reset_timedout_connection off;
    limit_conn_zone $binary_remote_addr zone=per_address:10m;
    limit_conn_status 429;
    limit_conn_log_level warn;
    client_header_buffer_size 1k;
    large_client_header_buffers {limits["header_lines_buffers"]} {limits["header_line_bytes"]};
    client_max_body_size {max_body};
    client_body_buffer_size {max_body};"""


def _error_pages(settings: dict) -> tuple[list[str], list[str]]:
    """nginx's error_page lines and the internal locations answering each in the one JSON shape."""
    pages, locations = [], []
    for status, (code, message) in _NGINX_ERRORS.items():
        text = message.format(max_body=int(settings["MAX_BODY_BYTES"]), line=SLOW_CLIENT_LIMITS["header_line_bytes"],
                              per_address=int(settings["REQUESTS_PER_ADDRESS"]))
        body = json.dumps(error_body(code, text)).replace("'", "\\'")
        # A URI, not a named location: nginx cannot redirect to a name before it has the request line.
        pages.append(f"        error_page {status} /.caseflag-error/{status};")
        reply = 400 if status == 494 else status
        locations.append(f"        location = /.caseflag-error/{status} {{ internal; default_type application/json; "
                         f"{_SECURITY_HEADERS} return {reply} '{body}'; }}")
    return pages, locations


def _connection_budget() -> tuple[int, int]:
    """(open files, connections) for nginx's worker: a client and an upstream socket per request."""
    files = resource.getrlimit(resource.RLIMIT_NOFILE)[1]  # the hard limit: nginx may raise its own to it
    wanted = SLOW_CLIENT_LIMITS["connections"]
    if files == resource.RLIM_INFINITY:
        return wanted * 2 + 64, wanted
    return files, min(wanted, max(1024, files // 2 - 32))


_SECURITY_HEADERS = ("add_header X-Content-Type-Options nosniff always; "
                     "add_header Referrer-Policy no-referrer always; "
                     "add_header Content-Security-Policy \"default-src 'none'; frame-ancestors 'none'; sandbox\" always;")
_NGINX_CLIENT = re.compile(r", client: .*$")


def unprivileged_user() -> tuple[str, str]:
    """The user and group nginx's workers run as when started by root: nobody, else the nginx package's."""
    for user, group in (UNPRIVILEGED, ("nobody", "nobody"), ("www-data", "www-data")):
        try:
            pwd.getpwnam(user), grp.getgrnam(group)
        except KeyError:
            continue
        return user, group
    raise FrontProxyError("caseflag serve runs nginx's workers as an unprivileged user, and this system has none "
                          "of nobody:nogroup, nobody:nobody or www-data: create one, or start caseflag serve as "
                          "a user other than root")


def scrub_nginx_log(line: str) -> str:
    """An nginx error-log line without its client address, request line, host or upstream (they
    follow ", client: "): a log line never ties a visitor to a site."""
    return _NGINX_CLIENT.sub("", line.rstrip("\n"))


def _real_client(trusted: list[str]) -> str:
    """nginx's realip lines: behind trusted proxies, the client is the last address in
    X-Forwarded-For that none of them holds (what a client sends itself stays in front of it, so
    it cannot pose as another); with none, the peer is the client and the header is replaced."""
    if not trusted:
        return ""
    lines = [f"        set_real_ip_from {network};" for network in trusted]
    lines += ["        real_ip_header X-Forwarded-For;", "        real_ip_recursive on;"]
    return "\n".join(lines) + "\n"


def _holds_pid(pidfile: Path, pid: int) -> bool:
    try:
        return pidfile.read_text(encoding="ascii").strip() == str(pid)
    except (OSError, UnicodeDecodeError):
        return False


def nginx_binary() -> str:
    binary = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)), None)
    if binary is None:
        raise FrontProxyError("caseflag serve puts nginx in front of gunicorn, so that slow clients cannot "
                              "hold its threads, and nginx is not installed: run `make serve-deps` (it "
                              "installs Debian's nginx), or use `caseflag serve --dev` to try things out")
    return binary


class FrontProxy:
    """nginx as a child process, configured by nginx_config, stopped with `caseflag serve`."""

    def __init__(self, settings: dict, workdir: Path, upstream: str) -> None:
        self.binary = nginx_binary()
        self.config = workdir / "nginx.conf"
        self.config.write_text(nginx_config(settings, upstream, workdir), encoding="utf-8")
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        self.failure: str | None = None  # why nginx could not start
        self._stopping = False

    def check(self) -> None:
        done = subprocess.run([self.binary, "-t", "-q", "-e", "stderr", "-p", str(self.workdir), "-c",
                               str(self.config)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise FrontProxyError(f"nginx refused the configuration caseflag wrote: {done.stderr.strip()}")

    def start(self) -> None:
        """Start nginx and wait until it listens; if it cannot (the port is taken), stop gunicorn too.

        Readiness is nginx's pid in its pid file, written once its sockets are bound (`nginx -t`
        leaves the file empty). Its exit status is no use here: gunicorn's master reaps every child
        it has, nginx included.
        """
        pidfile = self.workdir / "nginx.pid"
        self.process = subprocess.Popen([self.binary, "-e", "stderr", "-p", str(self.workdir), "-c",
                                         str(self.config)], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
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


def run_gunicorn(settings: dict, workers: int, threads: int, front_proxy: bool = True) -> int:
    """Serve on HOST:PORT: nginx there, gunicorn behind it on a private socket (front_proxy=False:
    gunicorn alone, exposed to slow clients; for comparisons only)."""
    options = {
        "workers": workers,
        "threads": threads,
        "worker_class": JsonErrorWorker,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "timeout": 30,
        "graceful_timeout": 10,
    }
    if not front_proxy:
        options["bind"] = f"{settings['HOST']}:{settings['PORT']}"
        _Gunicorn(settings, options).run()
        return 0
    nginx_binary()  # a clear error before anything is made
    workdir = Path(tempfile.mkdtemp(prefix="caseflag-serve-"))
    if os.geteuid() == 0:
        os.chmod(workdir, 0o711)  # nginx's unprivileged workers reach the socket by name, list nothing
    upstream = str(workdir / "gunicorn.sock")
    # A worker started while data/ is broken serves the dataset kept here (dataset.DatasetStore);
    # some threads of each worker stay free of DNS waits (dnsguard.py).
    settings = {**settings, "LAST_GOOD_FILE": settings.get("LAST_GOOD_FILE") or str(workdir / "last-good.pickle"),
                "DNS_SLOTS": max(1, min(int(settings["DNS_SLOTS"]), threads - 2))}
    try:
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
        _Gunicorn(settings, options, behind_proxy=True).run()  # ends in sys.exit() when stopped
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


class PrivateRequestHandler(WSGIRequestHandler):
    """Flask's development server, logging like gunicorn here: no client address, no query string."""

    def log_request(self, code="-", size="-") -> None:
        path = self.path.split("?", 1)[0]
        self.log("info", '"%s %s" %s %s', self.command, path, code, size)

    def address_string(self) -> str:
        return "-"

    def log(self, type: str, message: str, *args) -> None:
        # http.server's own lines (a malformed request's "Bad request syntax ('GET /?domain=…')")
        # quote the request line: cut every query from them.
        super().log(type, "%s", _QUERY.sub("", message % args if args else message))


_QUERY = re.compile(r"\?[^\s'\"]*")
