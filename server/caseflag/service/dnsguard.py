"""Bounds on waiting for DNS in the web service, so that a failing resolver cannot take every thread.

An uncached check waits for DNS up to its budget (2 s); a gunicorn worker has a few threads, and
while all of them wait, `/healthz` and cached answers queue behind them. DnsGuard wraps each
uncached lookup (LookupService.infrastructure) with three bounds, each answering at once with
infrastructure `unavailable` and a reason instead of waiting:

- a bulkhead: at most `slots` request threads of a process wait on DNS at once (a thread holds
  one slot however many lookups of a bulk request it runs), leaving the rest for everything else.
  A thread finding every slot taken waits for one only while the oldest holder has waited less than
  PATIENCE (DNS behaving, the machine merely busy); past that it is answered at once;
- a circuit breaker: after `failures` lookups in a row end `unavailable` (a busy service meeting a
  dead resolver), or QUIET_FAILURES of them spanning QUIET_SECONDS with no success between (a quiet
  one), uncached lookups fail fast for `pause` seconds; then one lookup probes, and its success
  closes the circuit again. A bulk check of dead sites, each failing on its own, seldom trips it:
  some of its names still resolve;
- a deadline per request (begin_request): lookups still waiting when it passes end `unavailable`,
  so a bulk request answers within it, well before a proxy in front gives up on it.

The CLI has no guard (LookupService.guard is None): a batch run waits for DNS as long as it takes.
Answers refused by a guard are not cached: the next request after the cause passes asks DNS again.
"""

from __future__ import annotations

import asyncio
import threading
import time

from ..core.messages import render
from .verdict import Infrastructure

# How long the oldest slot holder may have waited before DNS counts as slow: until then a thread
# finding no free slot waits for one (under load, healthy lookups hold slots for tens of ms). All
# such waits end together, PATIENCE after the oldest began, so they cannot queue up behind each other.
PATIENCE = 0.25
# A quiet service (a few checks a second) would need long to see `failures` in a row: this many
# failures, the first at least this long before the last, with no success between, also open it.
QUIET_FAILURES, QUIET_SECONDS = 3, 4.0


class DnsGuard:
    """Bulkhead, circuit breaker and per-request deadline around DNS lookups; one per process."""

    def __init__(self, slots: int = 6, failures: int = 20, pause: float = 5.0, deadline: float = 10.0,
                 timer=time.monotonic) -> None:
        self.slots, self.failures, self.pause, self.deadline = max(1, slots), max(1, failures), pause, deadline
        self._timer = timer
        self._free = threading.BoundedSemaphore(self.slots)
        self._local = threading.local()  # per request thread: slot depth, deadline
        self._lock = threading.Lock()
        self._failed = 0  # lookups in a row that ended unavailable
        self._failing_since = 0.0  # when the first of them ended
        self._open_until = 0.0  # 0: the circuit is closed
        self._probing = False
        self.refused = 0  # lookups answered by a guard instead of DNS, since start
        self.waiting = 0  # threads holding a slot now
        self._holders: dict[int, float] = {}  # thread id -> when it took its slot

    # --- the web app marks each request (app.py) ---------------------------------------------------

    def begin_request(self) -> None:
        self._local.deadline = self._timer() + self.deadline

    def end_request(self) -> None:
        self._local.deadline = None

    # --- around each uncached lookup (lookup.py) ---------------------------------------------------

    async def __call__(self, lookup) -> tuple[Infrastructure, float]:
        """Await `lookup` (a coroutine giving (Infrastructure, ttl)) within the bounds, or refuse it."""
        refusal = self._enter()
        if refusal is not None:
            lookup.close()  # never started: no "never awaited" warning
            with self._lock:
                self.refused += 1
            return Infrastructure("unavailable", reason_code=refusal[0], reason_params=refusal[1]), 0.0
        try:
            deadline = getattr(self._local, "deadline", None)
            if deadline is None:
                result = await lookup
            else:
                result = await asyncio.wait_for(lookup, max(0.0, deadline - self._timer()))
        except TimeoutError:
            self._record(False)
            return Infrastructure("unavailable", reason_code="dns_deadline", reason_params=self._deadline()), 0.0
        finally:
            self._leave()
        infrastructure = result[0]
        self._record(infrastructure.status != "unavailable")
        return result

    def _deadline(self) -> dict:
        return {"deadline": f"{self.deadline:g}"}

    def _paused(self) -> dict:
        # Names no failure's own reason: it would carry another client's host name into this answer.
        return {"failures": self.failures, "pause": f"{self.pause:g}"}

    def _enter(self) -> tuple[str, dict] | None:
        """None when the lookup may go ahead (a slot taken), else the reason it may not (code, params)."""
        deadline = getattr(self._local, "deadline", None)
        if deadline is not None and self._timer() >= deadline:
            return "dns_deadline", self._deadline()
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            if not self._free.acquire(blocking=False) and not self._wait_for_slot():
                return "dns_busy", {"slots": self.slots}
            with self._lock:
                self.waiting += 1
                self._holders[threading.get_ident()] = self._timer()
        self._local.depth = depth + 1
        refusal = self._breaker_refusal()
        if refusal is not None:
            self._leave()
        return refusal

    def _wait_for_slot(self) -> bool:
        """Every slot is taken: wait for one while DNS still looks healthy (see PATIENCE)."""
        with self._lock:
            oldest = min(self._holders.values(), default=self._timer())
        patience = PATIENCE - (self._timer() - oldest)
        return patience > 0 and self._free.acquire(timeout=patience)

    def _leave(self) -> None:
        self._local.depth -= 1
        if self._local.depth == 0:
            with self._lock:
                self.waiting -= 1
                self._holders.pop(threading.get_ident(), None)
            self._free.release()

    def _breaker_refusal(self) -> tuple[str, dict] | None:
        with self._lock:
            if not self._open_until:
                return None
            if self._timer() < self._open_until or self._probing:
                return "dns_paused", self._paused()
            self._probing = True  # the pause is over: this lookup probes; the others still fail fast
            return None

    def _record(self, ok: bool) -> None:
        with self._lock:
            self._probing = False
            if ok:
                self._failed, self._open_until = 0, 0.0
                return
            now = self._timer()
            self._failed += 1
            if self._failed == 1:
                self._failing_since = now
            quiet = self._failed >= QUIET_FAILURES and now - self._failing_since >= QUIET_SECONDS
            if self._failed >= self.failures or quiet or self._open_until:
                self._open_until = now + self.pause

    def state(self) -> dict:
        """For /healthz: whether lookups are paused, and why; how many threads wait on DNS now."""
        with self._lock:
            if not self._open_until:
                circuit, problem = "closed", None
            else:
                paused = self._timer() < self._open_until or self._probing
                circuit = "open" if paused else "half_open"  # half_open: the next lookup probes
                problem = render("reason.dns_paused", self._paused())  # /healthz speaks English
            return {"circuit": circuit, "problem": problem, "slots": self.slots, "waiting": self.waiting,
                    "refused": self.refused}
