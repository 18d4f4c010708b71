"""nginx's configuration for `caseflag serve`: what it listens on, its bounds on slow and
oversized clients (SLOW_CLIENT_LIMITS), its own refusals in the one JSON error shape, and the
unprivileged user its workers run as."""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import resource
import shutil
from pathlib import Path

from ..core.errors import CaseflagError, error_body
from .gunicorn_worker import BODY_LIMITS

# What a client gets before nginx closes its connection (the README's limits section lists them).
SLOW_CLIENT_LIMITS = {
    "header_seconds": 5,  # the request line and every header, all of them, within this
    "send_idle_seconds": 10,  # at most this long between two writes of an answer the client reads slowly
    "keepalive_seconds": 15,  # an idle kept-alive connection
    "header_line_bytes": 8192,  # the request line, and each header line
    "header_lines_buffers": 4,  # how many header lines of that size at most (the rest must be short)
    "connections": 16384,  # connections nginx holds at once, all clients together
}

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


def nginx_config(settings: dict, upstream: str, workdir: Path) -> str:
    """The nginx configuration: listen where `caseflag serve` should, read each request's headers,
    forward it to gunicorn, its body streamed. No access log; the error log at warn, each line
    scrubbed of the client's address, request line and host by FrontProxy."""
    pages, locations = _error_pages(settings)
    temp = "\n".join(f"    {kind}_temp_path {workdir / kind};" for kind in
                      ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = ""
    if os.geteuid() == 0:
        account, group = unprivileged_user(str(settings["USER"]))
        user = f"user {account.pw_name} {group};\n"
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
{_upstream(upstream)}
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
            # Bodies pass on as they arrive: a stalled one then gets the app's 408 (nginx ends a
            # request whose body timed out without any answer). gunicorn_worker.BodyGuard keeps
            # slow bodies to a few threads; client_max_body_size still holds.
            proxy_request_buffering off;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_read_timeout 60s;
            # Only a connection lost or refused goes to the next entry (see _upstream): a GET that
            # timed out is not sent to two more threads, each waiting the 60 s again.
            proxy_next_upstream error;
            proxy_intercept_errors off;
        }}
{chr(10).join(locations)}
    }}
}}
"""


def _upstream(socket: str) -> str:
    """gunicorn's socket as nginx's upstream. Idle connections end here before gunicorn's keepalive
    (30 s) ends them: a POST sent on one gunicorn was closing would fail, unretried. The socket is
    listed three times because nginx retries an idempotent request only on another entry: a GET
    lost with a dying worker goes again to another (or the next one gunicorn starts); only such a
    connection error is retried (proxy_next_upstream error), never a timeout.
    max_fails=0: an entry is never marked down."""
    return f"""    upstream caseflag {{
        server unix:{socket} max_fails=0;
        server unix:{socket} max_fails=0 backup;
        server unix:{socket} max_fails=0 backup;
        keepalive 64; keepalive_timeout 20s;
    }}"""


def _client_limits(max_body: int) -> str:
    """nginx's bounds on what a client may send and how slowly (SLOW_CLIENT_LIMITS), and the zone
    that counts each address's requests in progress."""
    limits = SLOW_CLIENT_LIMITS
    return f"""    client_header_timeout {limits["header_seconds"]}s;
    # Bodies stream to gunicorn, whose worker answers a stalled one 408 after BODY_LIMITS; nginx's
    # own timeout (an end without an answer) is only a backstop behind it.
    client_body_timeout {BODY_LIMITS["idle_seconds"] + 5}s;
    send_timeout {limits["send_idle_seconds"]}s;
    keepalive_timeout {limits["keepalive_seconds"]}s;
    # Off: a client that timed out gets an orderly close, not a reset.
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


def unprivileged_user(name: str) -> tuple[pwd.struct_passwd, str]:
    """The account (CASEFLAG_USER, empty for nobody) and its group that nginx's and gunicorn's
    workers run as when caseflag serve is started by root (root itself only when CASEFLAG_USER names it)."""
    name = name or "nobody"
    try:
        account = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
        group = grp.getgrgid(account.pw_gid).gr_name
    except KeyError:
        raise FrontProxyError(f"CASEFLAG_USER={name!r}: this system has no such user (or no group for it); "
                              "caseflag serve, started as root, runs its workers as that user: create it or "
                              "name another") from None
    return account, group


def scrub_nginx_log(line: str) -> str:
    """An nginx error-log line without its client address, request line, host or upstream (they
    follow ", client: "): a log line never ties a visitor to a site."""
    return _NGINX_CLIENT.sub("", line.rstrip("\n"))


def _real_client(trusted: list[str]) -> str:
    """nginx's realip lines: behind trusted proxies, the client is the last X-Forwarded-For address
    none of them holds (so a client cannot pose as another); with none, the peer is the client."""
    if not trusted:
        return ""
    lines = [f"        set_real_ip_from {network};" for network in trusted]
    lines += ["        real_ip_header X-Forwarded-For;", "        real_ip_recursive on;"]
    return "\n".join(lines) + "\n"


def nginx_binary() -> str:
    binary = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)), None)
    if binary is None:
        raise FrontProxyError("caseflag serve puts nginx in front of gunicorn, so that slow clients cannot "
                              "hold its threads, and nginx is not installed: run `make serve-deps` (it "
                              "installs Debian's nginx), or use `caseflag serve --dev` to try things out")
    return binary
