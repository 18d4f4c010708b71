"""caseflag: flag websites tied to known copyright-enforcement cases.

The library answers as the HTTP API does, from the bundled list and the DNS:

    import caseflag

    answer = caseflag.check("thepiratebay.org")        # one answer, the API's dict
    answer["verdict"]["level"]                          # 'target'
    answers = caseflag.check_many(["a.com", "b.org"])   # in order; a refused input is its error record

    answer = await caseflag.check_async("thepiratebay.org")    # in an event loop (Jupyter, asyncio)
    answers = await caseflag.check_many_async(names, concurrency=100)

    checker = caseflag.Checker(nameservers=["127.0.0.1:5353"], offline=False, asn=True, rate=None)
    checker.check("example.com", compact=True)          # cases referred to by id, as the batch writes

The synchronous calls work inside a running event loop too (a notebook cell): they run the
check in a thread of their own there. `check` raises `caseflag.CaseflagError` for an input that
cannot be checked (not a host name, a private address); `check_many` returns it as a record.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

__version__ = "0.1.0"
__all__ = ["Checker", "CaseflagError", "check", "check_many", "check_async", "check_many_async", "__version__"]

from .core.errors import CaseflagError  # noqa: E402 - after __version__, which submodules read


class Checker:
    """A configured checker: its dataset, resolver and cache, kept between calls.

    data_dir: a data folder (default: the bundled list); nameservers: "host[:port]" resolvers
    (default: CASEFLAG_DNS_NAMESERVERS or the system's); offline: match the list only; asn:
    origin-ASN lookups for addresses in no published range; rate: DNS queries a second at most.
    """

    def __init__(self, data_dir: str | None = None, nameservers: list[str] | None = None, offline: bool = False,
                 asn: bool = True, rate: float | None = None, lang: str | None = None) -> None:
        from .core import config
        from .service.lookup import create_service
        from .net.pacing import Pacer

        overrides: dict = {"RELOAD_INTERVAL": 0}
        if data_dir:
            overrides["DATA_DIR"] = str(data_dir)
        if nameservers:
            overrides["DNS_NAMESERVERS"] = list(nameservers)
        self.service = create_service(config.resolve(overrides))
        self.service.detector.asn_lookups = asn
        if rate:
            self.service.resolver.pacer = Pacer(rate)
        self.offline, self.lang = offline, lang

    @property
    def dataset_version(self) -> str:
        return self.service.dataset.version

    def check(self, name: str, compact: bool = False) -> dict:
        """The answer for one host name or URL; raises CaseflagError for one that cannot be checked."""
        if _loop_running():
            return _in_thread(self.check, name, compact)
        return _shape(self.service.check(name, lang=self.lang, offline=self.offline), compact)

    def check_many(self, names: list[str], concurrency: int = 50, compact: bool = False) -> list[dict]:
        """The answers for several names, in order; an input that cannot be checked is its error record."""
        if _loop_running():
            return _in_thread(self.check_many, names, concurrency, compact)
        return asyncio.run(self.check_many_async(names, concurrency, compact))

    async def check_async(self, name: str, compact: bool = False) -> dict:
        """check() in the running event loop."""
        result = await self.service.check_one_async(name, self.lang, self.offline)
        if "error" in result:  # as check() does: an input that cannot be checked raises
            error = CaseflagError(result["error"]["message"])
            error.code, error.status = result["error"]["code"], result["status"]
            raise error
        return _shape(result, compact)

    async def check_many_async(self, names: list[str], concurrency: int = 50, compact: bool = False) -> list[dict]:
        """check_many() in the running event loop."""
        results = await self.service.check_many_async(list(names), self.lang, self.offline, concurrency)
        return [_shape(result, compact) for result in results]


def _shape(result: dict, compact: bool) -> dict:
    if not compact:
        return result
    from .exports.batchrecords import compact as compact_form

    return compact_form(result)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _in_thread(function, *args):
    """Run a blocking call in a thread of its own: this thread's event loop (Jupyter's) is busy."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


_default: Checker | None = None
_default_lock = threading.Lock()


def _checker() -> Checker:
    global _default
    with _default_lock:
        if _default is None:
            _default = Checker()
        return _default


def check(name: str, compact: bool = False) -> dict:
    """The answer for one host name or URL, with the default Checker()."""
    return _checker().check(name, compact)


def check_many(names: list[str], concurrency: int = 50, compact: bool = False) -> list[dict]:
    """The answers for several names, in order, with the default Checker()."""
    return _checker().check_many(names, concurrency, compact)


async def check_async(name: str, compact: bool = False) -> dict:
    return await _checker().check_async(name, compact)


async def check_many_async(names: list[str], concurrency: int = 50, compact: bool = False) -> list[dict]:
    return await _checker().check_many_async(names, concurrency, compact)
