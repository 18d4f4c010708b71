"""A cap on DNS queries per second, for politeness to a shared resolver (`caseflag batch --rate`)."""

from __future__ import annotations

import asyncio
import time


class Pacer:
    """Spreads queries evenly at `rate` a second. Every send books its slot on one timeline; a
    send whose slot lies ahead sleeps until then. After a pause at most `burst` queries go at once,
    so no window of a second holds more than rate + burst."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self.rate = float(rate)
        self.burst = burst if burst is not None else max(1.0, rate / 50)  # 20 ms worth
        self._next = 0.0

    async def take(self, count: int) -> None:
        """Wait until `count` more queries may be sent."""
        now = time.monotonic()
        slot = max(self._next, now - self.burst / self.rate)
        self._next = slot + count / self.rate
        if slot > now:
            await asyncio.sleep(slot - now)
