"""TTL store: per-entry lifetimes, bounded size, and off when size is 0."""

from caseflag.cache import TTLStore


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_entries_expire_after_their_own_ttl():
    clock = Clock()
    store = TTLStore(10, timer=clock)
    store.set("long", "a", 300)
    store.set("short", "b", 30)
    clock.now = 31
    assert store.get("short") is None
    assert store.get("long") == "a"
    clock.now = 301
    assert store.get("long") is None


def test_size_is_bounded():
    store = TTLStore(3)
    for n in range(10):
        store.set(str(n), n, 60)
    assert len(store) == 3


def test_size_zero_disables_the_cache():
    store = TTLStore(0)
    store.set("k", "v", 60)
    assert store.get("k") is None and len(store) == 0
