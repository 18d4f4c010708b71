"""DNS lookups with one overall time budget, run concurrently. No policy here.

Every outcome — an answer, NXDOMAIN, no data, SERVFAIL, a refusal, a timeout, no resolver
at all — comes back as a DnsAnswer with a status and a reason, never as an exception.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import dns.exception
import dns.rcode

from .dnssession import MAX_RECORDS, DnsSession, Query, UnusableAnswer, said
from .dnswire import Reply
from ..core.errors import InvalidInput
from ..core.messages import render

OK = "ok"


class DnsAnswer(NamedTuple):  # immutable, and cheap to make: three per checked host
    """The outcome of one query: status is ok | nxdomain | nodata | servfail | refused | timeout | error.

    Why it failed is data, a code of the catalogue's reason.<code> and its params: the answer's
    language words it (service/verdict.py); `reason` is the English words, for logs and tests.
    """

    name: str
    rdtype: str
    status: str
    code: str = ""
    records: tuple[str, ...] = ()
    ttl: int | None = None
    cnames: tuple[str, ...] = ()
    params: dict | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def reason(self) -> str:
        return render(f"reason.{self.code}", self.params or {}) if self.code else ""


def _failed(name: str, rdtype: str, status: str, code: str, **params) -> DnsAnswer:
    """A failed query's answer, its reason a catalogue code with the name and type among its params."""
    return DnsAnswer(name, rdtype, status, code, params={"name": name, "rdtype": rdtype, **params})


class HostRecords:
    """A, AAAA (after CNAMEs) of a host name and NS of its registrable domain.

    A plain class with slots, its lists made at once: one is made per checked host, and a
    frozen dataclass's __init__ and cached_property's lock were a few percent of a batch.
    """

    __slots__ = ("a", "aaaa", "ns", "elapsed", "answers", "addresses", "cnames")

    def __init__(self, a: DnsAnswer, aaaa: DnsAnswer, ns: DnsAnswer | None, elapsed: float = 0.0,
                 answers: tuple[DnsAnswer, ...] = ()) -> None:
        self.a, self.aaaa, self.ns, self.elapsed, self.answers = a, aaaa, ns, elapsed, answers
        self.addresses: list[str] = [*a.records, *aaaa.records]
        cnames = list(a.cnames)
        if aaaa.cnames:  # the AAAA's chain is most often the A's again
            cnames += [name for name in aaaa.cnames if name not in cnames]
        self.cnames: list[str] = cnames

    def __repr__(self) -> str:
        return f"HostRecords(a={self.a!r}, aaaa={self.aaaa!r}, ns={self.ns!r})"


def parse_nameserver(text: str) -> tuple[str, int]:
    """'127.0.0.1:5353', '[::1]:53', '10.0.0.2' or '::1' → (address, port)."""
    text = text.strip()
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        port = rest.lstrip(":") or "53"
    elif text.count(":") == 1:
        address, _, port = text.partition(":")
    else:
        address, port = text, "53"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(f"nameserver {text!r}: the port must be a number from 1 to 65535")
    return address, int(port)


class Resolver:
    """Configured DNS access: the nameservers to ask and the budget to keep.

    With no nameservers given, the system's configuration is read; if there is none,
    every query answers status "error" with the reason, rather than raising.
    """

    def __init__(self, nameservers: list[str] | None = None, budget: float = 2.0) -> None:
        self.budget = budget
        # Several tries fit in the budget, so one lost UDP packet does not cost the answer.
        self.timeout = min(budget, max(0.3, budget / 4))
        self.unavailable_code = ""  # reason.<code> when no resolver is configured, with its params
        self.unavailable_params: dict = {}
        self.pacer = None  # a pacing.Pacer shared by every session (batch --rate)
        self._nameservers = [parse_nameserver(entry) for entry in nameservers or []]
        if not self._nameservers:
            import dns.resolver  # only here: the batch and the tests name their nameservers

            try:
                system = dns.resolver.Resolver(configure=True)
                self._nameservers = [(address, system.port) for address in system.nameservers]
            except (dns.resolver.NoResolverConfiguration, OSError) as err:
                if said(err, ""):
                    self.unavailable_code, self.unavailable_params = "no_resolver_said", {"error": said(err, "")}
            if not self._nameservers and not self.unavailable_code:
                self.unavailable_code = "no_resolver"

    @property
    def unavailable_reason(self) -> str | None:
        """Why no query can be asked, in English (for /healthz), or None."""
        return render(f"reason.{self.unavailable_code}", self.unavailable_params) if self.unavailable_code else None

    @property
    def nameservers(self) -> list[tuple[str, int]]:
        """The (address, port) of each nameserver asked."""
        return list(self._nameservers)

    def session(self) -> DnsSession:
        """Sockets to share between lookups: `async with resolver.session() as session: ...`."""
        return DnsSession(self._nameservers, self.timeout, self.pacer)

    async def query_all(self, session: DnsSession, questions: list[tuple[str, str]],
                        deadline: float) -> list[DnsAnswer]:
        """Ask (name, rdtype) questions at once; an answer for each, in order."""
        if self.unavailable_code:
            return [DnsAnswer(name, rdtype, "error", self.unavailable_code, params=self.unavailable_params)
                    for name, rdtype in questions]
        if deadline - time.monotonic() <= 0:
            return [_failed(name, rdtype, "timeout", "budget_spent") for name, rdtype in questions]
        queries = [Query(name, rdtype) for name, rdtype in questions]
        outcomes = await session.exchange_all(queries, deadline)
        return [_checked(_answer(query.name, query.rdtype, outcome), query) for query, outcome in zip(queries, outcomes)]

    async def host_records(self, hostname: str, registrable_domain: str | None,
                           session: DnsSession | None = None) -> HostRecords:
        """Ask A, AAAA and NS at once; everything within one budget."""
        if session is None:
            async with self.session() as own:
                return await self.host_records(hostname, registrable_domain, own)
        started = time.monotonic()
        questions = [(hostname, "A"), (hostname, "AAAA")]
        if registrable_domain:
            questions.append((registrable_domain, "NS"))
        answers = await self.query_all(session, questions, started + self.budget)
        a, aaaa = answers[0], answers[1]
        ns = answers[2] if registrable_domain else None
        return HostRecords(a, aaaa, ns, time.monotonic() - started, tuple(answers))


def _answer(name: str, rdtype: str, outcome) -> DnsAnswer:
    """The DnsAnswer for what one query ended with."""
    if isinstance(outcome, Reply):
        return _answer_from_reply(name, rdtype, outcome)
    if isinstance(outcome, dns.exception.Timeout):
        return _failed(name, rdtype, "timeout", "timeout")
    if isinstance(outcome, UnusableAnswer):
        return _failed(name, rdtype, "error", "unusable", problem=outcome.problem, **outcome.params)
    if isinstance(outcome, OSError):
        return _failed(name, rdtype, "error", "unreachable", error=said(outcome, "no reason given"))
    return _failed(name, rdtype, "error", "query_failed", error=said(outcome, "no reason given"))


def _checked(answer: DnsAnswer, query: Query) -> DnsAnswer:
    """An answer too large to be a site's is refused; a timeout mentions stray answers seen meanwhile."""
    if answer.ok and len(answer.records) > MAX_RECORDS:
        return _failed(answer.name, answer.rdtype, "error", "too_many_records", count=len(answer.records),
                       limit=MAX_RECORDS)
    if answer.status == "timeout" and answer.code == "timeout" and query.stray_note:
        return answer._replace(code="timeout_strays", params={**(answer.params or {}), **query.stray_note})
    return answer


def _answer_from_reply(name: str, rdtype: str, reply: Reply) -> DnsAnswer:
    """The answer a response stands for: its rcode's failure, or the records it resolved to."""
    if reply.rcode == dns.rcode.NXDOMAIN:
        return _failed(name, rdtype, "nxdomain", "nxdomain")
    if reply.rcode == dns.rcode.REFUSED:
        return _failed(name, rdtype, "refused", "refused")
    if reply.rcode != dns.rcode.NOERROR:
        return _failed(name, rdtype, "servfail", "servfail", rcode=dns.rcode.to_text(reply.rcode))
    if reply.problem:
        return _failed(name, rdtype, "error", "bad_answer", error=reply.problem.strip().rstrip("."))
    if not reply.records:
        return _failed(name, rdtype, "nodata", "nodata")._replace(cnames=reply.cnames)
    return DnsAnswer(name, rdtype, OK, "", reply.records, reply.ttl, reply.cnames)
