"""The DNS transport: the sockets a batch of lookups shares, the queries sent and their answers
read back (both through dnswire). No policy here: network.Resolver turns what comes back into answers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time

import dns.exception

from . import dnswire
from .dnswire import Reply


def said(err: BaseException, fallback: str) -> str:
    """An error's own words for a reason a person reads, never a Python class name."""
    text = getattr(err, "strerror", None) or str(err)
    return text.strip().rstrip(".") or fallback


# More records than this in one answer is not a site's address list but a flood: refused as unusable.
MAX_RECORDS = 100


class UnusableAnswer(dns.exception.DNSException):
    """Answers came for a query, but none could be used (malformed, for another question, too large).

    Recoverable: another server, or the same one later, may answer properly. `problem` is a code of
    the catalogue's problem.<code>, `params` its parameters (a library's own words among them).
    """

    def __init__(self, problem: str, params: dict | None = None) -> None:
        super().__init__(problem)
        self.problem, self.params = problem, params or {}


class Multiplexer:
    """One connected UDP socket to one nameserver, many queries in flight, answers matched by id.

    Each wake-up drains every datagram waiting on the socket; asyncio's datagram transport reads
    one per loop turn, which cost a turn of the loop and a select() per answer.
    """

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self.pending: dict[int, tuple[Query, Exchange, int]] = {}  # id → the query, its exchange, its place
        self.strays = 0  # datagrams whose id no query in flight had (a stray or forged answer)
        self._sock, self._loop = sock, loop
        self._outgoing: list[bytes] = []  # datagrams to send at the end of this turn of the loop
        self._view = memoryview(bytearray(65535))  # what a datagram is received into (see _read_ready)
        loop.add_reader(sock.fileno(), self._read_ready)

    @classmethod
    async def open(cls, server: tuple[str, int]) -> Multiplexer:
        loop = asyncio.get_running_loop()
        try:  # nameservers are addresses: read at once, with no thread started for it
            found = socket.getaddrinfo(*server, type=socket.SOCK_DGRAM, flags=socket.AI_NUMERICHOST)
        except socket.gaierror:
            found = await loop.getaddrinfo(*server, type=socket.SOCK_DGRAM)
        family, kind, proto, _, address = found[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            # Many answers can arrive at once; a larger buffer keeps bursts from being dropped.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            sock.connect(address)  # UDP: only sets the peer, so answers from anyone else are dropped
        except OSError:
            sock.close()
            raise
        return cls(sock, loop)

    def send(self, data: bytes) -> None:
        """Queue a datagram; the queries of every lookup started in this turn of the loop leave
        together once it ends. Sent one by one, each woke the server (and the server's answer woke
        us) per host, and that wake-up was most of a send's cost on loopback."""
        if not self._outgoing:
            self._loop.call_soon(self._flush)
        self._outgoing.append(data)

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if self._sock.fileno() < 0:
            return  # closed meanwhile: its waiters have already been told
        send = self._sock.send
        for data in outgoing:
            try:
                send(data)
            except BlockingIOError:
                pass  # the send buffer is full: lost like any datagram, and asked again after the timeout
            except OSError as err:
                self._fail(err)
                return

    def _read_ready(self) -> None:
        # Into one buffer, then a copy of the datagram's own size: recv(65535) allocated 64 KiB per
        # datagram and shrank it, and glibc's heap answered that with brk calls and page faults
        # (~7 µs a datagram, a tenth of a batch's CPU).
        receive, view = self._sock.recv_into, self._view
        for _ in range(1024):  # bounded, so a flood cannot keep the loop from its timers
            try:
                data = bytes(view[:receive(view)])
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                self._fail(err)
                return
            entry = self.pending.get(int.from_bytes(data[:2], "big")) if len(data) >= 2 else None
            if entry is None or not entry[1].take(entry[0], entry[2], data):
                self.strays += 1

    def _fail(self, exc: Exception) -> None:
        # An ICMP error (nothing listening) is not tied to one query: every exchange learns it.
        for _, exchange, _ in list(self.pending.values()):
            exchange.fail(exc)

    def close(self) -> None:
        if self._sock.fileno() >= 0:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
        self._fail(ConnectionError("the DNS socket was closed"))


class DnsSession:
    """The sockets one batch of lookups shares: one per nameserver, opened on first use, closed at exit.

    Sharing a socket is what lets thousands of queries be in flight without a socket each.
    """

    def __init__(self, nameservers: list[tuple[str, int]], timeout: float, pacer=None) -> None:
        self._nameservers = nameservers
        self._timeout = timeout
        self._pacer = pacer  # a pacing.Pacer: at most so many queries a second (batch --rate)
        self._muxes: dict[tuple[str, int], asyncio.Task] = {}

    async def __aenter__(self) -> DnsSession:
        return self

    async def __aexit__(self, *exc) -> None:
        for opening in self._muxes.values():
            if not opening.done():
                opening.cancel()
            elif not opening.cancelled() and opening.exception() is None:
                opening.result().close()
        self._muxes.clear()

    async def _mux(self, server: tuple[str, int]) -> Multiplexer:
        # Queries start together: the first opens the socket, the others wait for that same opening.
        opening = self._muxes.get(server)
        if opening is not None and opening.done() and not opening.cancelled() and opening.exception() is None:
            return opening.result()  # open already: no shield (a future of its own) to wait on
        if opening is None or (opening.done() and opening.exception() is not None):
            opening = asyncio.get_running_loop().create_task(Multiplexer.open(server))
            self._muxes[server] = opening
        return await asyncio.shield(opening)

    async def exchange_all(self, queries: list[Query], deadline: float) -> list:
        """Ask several questions at once. Each gets its dnswire Reply or the exception it ended with:
        dns.exception.Timeout when the deadline passed, OSError when no server could be reached,
        another DNS error from a TCP retry.

        Unanswered queries are sent again, to the next server if there are several, until the
        deadline; truncated answers are asked again over TCP.
        """
        outcomes: list = [None] * len(queries)
        answered_by: dict[int, tuple[str, int]] = {}
        unreachable: set[tuple[str, int]] = set()
        attempt = 0
        todo = list(range(len(queries)))
        while todo:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            server = self._nameservers[attempt % len(self._nameservers)]
            attempt += 1
            if server in unreachable:
                continue
            try:
                responses = await self._udp_all(server, [queries[i] for i in todo], min(self._timeout, remaining))
            except OSError as err:
                unreachable.add(server)
                if len(unreachable) == len(set(self._nameservers)):
                    for index in todo:
                        outcomes[index] = err
                    return outcomes
                continue
            for index, response in zip(todo, responses):
                if response is not None:
                    outcomes[index], answered_by[index] = response, server
            todo = [index for index in todo if outcomes[index] is None]
        for index in todo:
            query = queries[index]
            outcomes[index] = UnusableAnswer(query.problem, query.problem_params) if query.problem \
                else dns.exception.Timeout()
        for index, server in answered_by.items():
            if outcomes[index].truncated:
                outcomes[index] = await self._tcp(server, queries[index], deadline)
        return outcomes

    async def _udp_all(self, server: tuple[str, int], queries: list[Query], timeout: float) -> list:
        """Send the queries to one server; their responses within the timeout (None where none came).

        The answers are read as they arrive (see Exchange.take) and the last one wakes this
        coroutine once, under one timer: no task, future or timer per query.
        """
        mux = await self._mux(server)
        loop = asyncio.get_running_loop()
        strays = mux.strays
        exchange = Exchange(loop, len(queries))
        ids = random_ids(len(queries))  # unpredictable ids, drawn from the system in bulk
        for number, query in enumerate(queries):
            query.id = ids[number]
            while query.id in mux.pending:  # ids must be unique among the queries in flight
                query.id = int.from_bytes(os.urandom(2), "big")
            mux.pending[query.id] = (query, exchange, number)
        if self._pacer is not None:
            await self._pacer.take(len(queries))
        timer = loop.call_at(loop.time() + timeout, exchange.expire)
        try:
            for query in queries:
                mux.send(query.wire())
            await exchange.done
        finally:
            timer.cancel()
            for query in queries:
                entry = mux.pending.get(query.id)
                if entry is not None and entry[1] is exchange:
                    del mux.pending[query.id]
            if mux.strays > strays:  # only a guess at whose they were, so it does not replace a timeout
                for query, response in zip(queries, exchange.responses):
                    if response is None and not query.problem:
                        query.stray_note = {"strays": mux.strays - strays, "server": server[0]}
        return exchange.responses

    async def _tcp(self, server: tuple[str, int], query: Query, deadline: float):
        """Ask again over TCP (the UDP answer was truncated); read like a UDP answer, within the deadline."""
        try:
            data = await asyncio.wait_for(tcp_exchange(server, query.wire()), max(deadline - time.monotonic(), 0.01))
        except asyncio.TimeoutError:
            return dns.exception.Timeout()
        except (OSError, EOFError) as err:  # EOFError: asyncio.IncompleteReadError, the server hung up early
            return UnusableAnswer("tcp_unusable", {"error": said(err, "the connection was closed")})
        response = query.read(data)
        if response is None:
            return UnusableAnswer("over_tcp", {"tcp_problem": query.problem, **query.problem_params})
        return response


async def tcp_exchange(server: tuple[str, int], wire: bytes) -> bytes:
    """One query over TCP: the two-byte length and the message, each way (RFC 7766)."""
    reader, writer = await asyncio.open_connection(*server)
    try:
        writer.write(len(wire).to_bytes(2, "big") + wire)
        await writer.drain()
        length = int.from_bytes(await reader.readexactly(2), "big")
        return await reader.readexactly(length)
    finally:
        writer.close()


class IdPool:
    """Query ids from os.urandom, 4 kB at a time instead of a system call per host. Shared by
    every thread's event loop (the API's worker threads), hence the lock."""

    def __init__(self) -> None:
        self._ids: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, count: int) -> list[int]:
        with self._lock:
            if len(self._ids) < count:
                data = os.urandom(max(4096, 2 * count))
                self._ids += [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data) - 1, 2)]
            taken = self._ids[-count:]
            del self._ids[-count:]
        return taken

    def _forget(self) -> None:
        self._ids.clear()
        self._lock = threading.Lock()  # a lock held by another thread at the fork stays held in the child


random_ids = IdPool()
if hasattr(os, "register_at_fork"):  # a forked process (batch --jobs, gunicorn) draws ids of its own
    os.register_at_fork(after_in_child=random_ids._forget)


class Exchange:
    """The queries one coroutine sent together, and the responses read so far (None until one
    comes). `done` resolves when every query has its response, the timer expires, or the socket
    fails (then with that error)."""

    __slots__ = ("done", "responses", "_left")

    def __init__(self, loop: asyncio.AbstractEventLoop, count: int) -> None:
        self.done = loop.create_future()
        self.responses: list = [None] * count
        self._left = count

    def take(self, query: Query, number: int, data: bytes) -> bool:
        """A datagram under the query's id: whether it was the query's response. Garbage, or an
        answer to another question, leaves the query waiting for its own (query.problem says why)."""
        if self.responses[number] is not None or self.done.done():
            return False  # answered already: a repeat, or a stray under a reused id
        try:
            response = query.read(data)
        except Exception as err:  # noqa: BLE001 - one hostile datagram must not stop the socket's reader
            query.problem, query.problem_params = "unreadable", {"error": said(err, "it did not parse")}
            return True
        if response is not None:
            self.responses[number] = response
            self._left -= 1
            if not self._left:
                self.done.set_result(None)
        return True

    def expire(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def fail(self, exc: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


class Query:
    """One question: its wire form and how its response is read (both by dnswire)."""

    def __init__(self, name: str, rdtype: str) -> None:
        self.name, self.rdtype = name, rdtype
        self.id = 0
        self._wire = dnswire.encode_query(name, rdtype)
        self.problem = ""  # why the last datagram under this query's id was dropped: a problem.<code>
        self.problem_params: dict = {}
        self.stray_note: dict = {}  # answers under ids no query had, seen while this one timed out

    def wire(self) -> bytes:
        return self.id.to_bytes(2, "big") + self._wire[2:]  # a message's first two bytes are its id

    def read(self, data: bytes) -> Reply | None:
        """The response in data if it answers this query, else None (and `problem` says why)."""
        records = int.from_bytes(data[6:8], "big")
        if len(data) > 4096 and records > MAX_RECORDS:  # on the header: parsing 64 KiB would stall the loop
            self.problem, self.problem_params = "too_large", {"count": records, "limit": MAX_RECORDS}
            return None
        try:
            reply = dnswire.decode(data, self.wire())
        except (dns.exception.DNSException, ValueError) as err:
            self.problem, self.problem_params = "malformed", {"error": said(err, "they did not parse")}
            return None
        if reply is None:
            self.problem, self.problem_params = "other_question", {}
        return reply
