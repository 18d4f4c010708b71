"""Request bodies that stop arriving, over the real nginx and gunicorn of `caseflag serve`: a 408 in
the JSON error shape within the worker's bounds, and slow bodies never take the threads that
/healthz and whole requests need."""

import json
import socket
import threading
import time

from caseflag.commands.gunicorn_worker import BODY_LIMITS, body_slots
from test_serving import Served, serve_folder

HEAD = (b"POST /api/v1/check?lang=secret HTTP/1.1\r\nHost: secret-host.example\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
PART = b'{"domains": ["secret-site.example", '  # then nothing, or a space now and then


def read_answer(sock: socket.socket, trickle_every: float | None = None) -> tuple[float, int, str, bytes]:
    """Read until the server ends the stream, sending a space every `trickle_every` s meanwhile:
    (seconds it took, status, head, body)."""
    started = time.monotonic()
    answer = b""
    while True:
        if trickle_every:
            sock.settimeout(trickle_every)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            if not trickle_every:
                raise
            try:
                sock.sendall(b" ")
            except OSError:
                pass  # closed after its answer: read that
            continue
        if not chunk:
            break
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return time.monotonic() - started, int(head.split()[1]), head.decode("latin-1"), body


def stalled(family, address, trickle_every=None):
    with socket.socket(family) as sock:
        sock.settimeout(BODY_LIMITS["whole_seconds"] + 10)
        sock.connect(address)
        sock.sendall(HEAD + PART)
        return read_answer(sock, trickle_every)


def post_whole(served, body: str) -> int:
    """POST a check whose headers and body leave in one write (from 127.0.0.2): its status."""
    raw = (f"POST /api/v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
           f"Content-Length: {len(body)}\r\n\r\n{body}").encode()
    with socket.create_connection(("127.0.0.1", served.port), timeout=5, source_address=("127.0.0.2", 0)) as sock:
        sock.sendall(raw)
        return read_answer(sock)[1]


def test_a_body_that_stops_midway_gets_408_in_the_json_shape(dns):
    """Through nginx and straight to gunicorn's socket: a body that stops gets 408 after the idle
    bound, one that trickles after the whole-body bound; the log has the 408s and no query or host."""
    served = Served(dns, workers=1, threads=16, CASEFLAG_DNS_ENABLED="false")  # body slots for all three
    nginx, gunicorn = (socket.AF_INET, ("127.0.0.1", served.port)), None
    try:
        gunicorn = (socket.AF_UNIX, str(serve_folder(served) / "gunicorn.sock"))
        cases = {"through nginx": (*nginx, None), "to gunicorn's socket": (*gunicorn, None),
                 "through nginx, a space a second": (*nginx, 1.0)}
        results = {}
        threads = [threading.Thread(target=lambda name=name, case=case: results.update({name: stalled(*case)}))
                   for name, case in cases.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=BODY_LIMITS["whole_seconds"] + 15)
        assert sorted(results) == sorted(cases)
        for name, (took, status, head, body) in results.items():
            assert status == 408, (name, head, body)
            error = json.loads(body)["error"]
            assert error["code"] == "request_timeout" and "stopped arriving" in error["message"], name
            assert "X-Content-Type-Options: nosniff" in head, name
            bound = BODY_LIMITS["whole_seconds"] if cases[name][2] else BODY_LIMITS["idle_seconds"]
            assert bound - 0.5 < took < bound + 2, (name, took)
        assert served.get("/healthz")[0] == 200
    finally:
        served.stop()
    log = served.log()
    assert log.count('"POST /api/v1/check" 408') == 3, log
    leaks = [line for line in log.splitlines() if "secret" in line or "?" in line]
    assert not leaks, leaks


def test_stalled_bodies_leave_healthz_and_whole_requests_answered(dns):
    """64 requests from one address whose bodies stop arriving: while they wait, /healthz from
    another address answers within 0.5 s and a POST whose body came whole gets 200 (it needs no
    body slot); each of the 64 is answered in the JSON shape, 408 for the few waiting in the
    workers' body slots, 503 at once for the rest."""
    served = Served(dns, workers=2, CASEFLAG_DNS_ENABLED="false", CASEFLAG_RATE_LIMIT="")
    held: list[socket.socket] = []
    whole = json.dumps({"domains": ["thepiratebay.org"]})
    try:
        for _ in range(64):
            sock = socket.create_connection(("127.0.0.1", served.port), timeout=30)
            sock.sendall(HEAD + PART)
            held.append(sock)
        latencies, posts = [], []
        until = time.monotonic() + BODY_LIMITS["idle_seconds"] + 1
        while time.monotonic() < until:
            started = time.monotonic()
            status, _ = served.get("/healthz", source="127.0.0.2")
            latencies.append(time.monotonic() - started)
            assert status == 200
            posts.append(post_whole(served, whole))
        assert max(latencies) < 0.5, f"slowest /healthz {max(latencies):.2f} s while 64 bodies stalled"
        assert posts == [200] * len(posts)
        answers = [read_answer(sock) for sock in held]
        codes = [json.loads(body)["error"]["code"] for _, _, _, body in answers]
        statuses = [status for _, status, _, _ in answers]
        assert sorted(set(zip(statuses, codes))) <= [(408, "request_timeout"), (503, "unavailable")], answers[:3]
        assert 1 <= statuses.count(408) <= 2 * body_slots(8), statuses
    finally:
        for sock in held:
            sock.close()
        served.stop()
