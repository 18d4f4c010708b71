"""TTL caches for infrastructure answers: positive ones for the DNS TTL (capped), failures briefly."""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

from cachetools import TLRUCache

V = TypeVar("V")


class TTLStore(Generic[V]):
    """A bounded, thread-safe cache where each entry carries its own time to live.

    size 0 disables caching: every get misses and set does nothing.
    """

    def __init__(self, size: int, timer=time.monotonic) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._cache: TLRUCache | None = (
            TLRUCache(maxsize=size, ttu=lambda _key, value, now: now + value[0], timer=timer) if size > 0 else None
        )
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> V | None:
        if self._cache is None:
            self.misses += 1
            return None
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                self.misses += 1
                return None
            self.hits += 1
            return entry[1]

    def set(self, key: str, value: V, ttl: float) -> None:
        if self._cache is None or ttl <= 0:
            return
        with self._lock:
            self._cache[key] = (ttl, value)

    def clear(self) -> None:
        if self._cache is not None:
            with self._lock:
                self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache) if self._cache is not None else 0

    def stats(self) -> dict:
        return {"size": len(self), "max_size": self.size, "hits": self.hits, "misses": self.misses}
