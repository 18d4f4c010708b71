"""TTL caches for infrastructure answers: positive ones for the DNS TTL (capped), failures briefly."""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

from cachetools import Cache, TLRUCache

V = TypeVar("V")
_holds = Cache.__contains__  # the plain dict test under TLRUCache's time-aware one


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
            # A key not held at all is a miss without TLRUCache's timer and two lookups (a batch of
            # new names asks this for every one); a held key, expired or not, takes the usual path.
            entry = self._cache.get(key) if _holds(self._cache, key) else None
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


class SharedCache(Generic[V]):
    """The in-process TTLStore in front of Redis shared by every worker and machine.

    Redis is best effort: when it is slow or down the answer comes from the local cache or
    from DNS, never an error; after a failure Redis is left alone for `retry_after` seconds
    so a dead server costs one short timeout, not one per request. `decode` raises ValueError for
    a value it cannot read (another version's form, or damaged): that is a miss.
    """

    def __init__(self, local: TTLStore[V], redis_url: str, encode, decode, *, prefix: str = "caseflag:",
                 timeout: float = 0.1, retry_after: float = 5.0, timer=time.monotonic) -> None:
        import redis

        self.local = local
        self.size = local.size
        self._encode, self._decode = encode, decode
        self._prefix = prefix
        self._retry_after = retry_after
        self._timer = timer
        self._down_until = 0.0
        self.last_error: str | None = None
        self._errors = (redis.RedisError, OSError)
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)

    def _available(self) -> bool:
        return self._timer() >= self._down_until

    def _failed(self, err: Exception) -> None:
        self.last_error = f"Redis did not answer in time or refused ({err}); answers come from this process"
        self._down_until = self._timer() + self._retry_after

    def get(self, key: str) -> V | None:
        value = self.local.get(key)
        if value is not None or not self._available():
            return value
        try:
            # value and remaining lifetime in one round trip
            raw, ttl = self._redis.pipeline(transaction=False).get(self._prefix + key).ttl(self._prefix + key).execute()
        except self._errors as err:
            self._failed(err)
            return None
        self.last_error = None
        if raw is None:
            return None
        try:
            value = self._decode(raw)
        except ValueError:  # written by another version, or damaged: a miss, overwritten by the next set
            return None
        self.local.set(key, value, max(ttl, 1))
        return value

    def set(self, key: str, value: V, ttl: float) -> None:
        self.local.set(key, value, ttl)
        if ttl < 1 or not self._available():
            return
        try:
            self._redis.set(self._prefix + key, self._encode(value), ex=int(ttl))
        except self._errors as err:
            self._failed(err)

    def clear(self) -> None:
        self.local.clear()

    def __len__(self) -> int:
        return len(self.local)

    def stats(self) -> dict:
        return {**self.local.stats(), "shared": "redis",
                "redis_ok": self._available() and self.last_error is None, "redis_error": self.last_error}
