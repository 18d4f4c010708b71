"""Parse what a user or a browser hands us into one normalised Hostname.

Everything downstream takes a Hostname, never a raw string: scheme, userinfo, port, path,
case, trailing dot and IDN are dealt with here, once. The registrable domain comes from the
public suffix list snapshot that ships inside tldextract; nothing is ever fetched.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import chain, compress, repeat
from operator import itemgetter, not_, or_

import idna

from .errors import InvalidDomain, NotPublicName
from .specialuse import NEVER_RESOLVED_TLDS, SPECIAL_USE_KINDS, special_use_suffix

MAX_INPUT_LENGTH = 2048
MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_MAX_PARENTS = 65_536


class SuffixList:
    """The public suffix list, from tldextract's offline snapshot only (``suffix_list_urls=()``,
    no cache folder): nothing is ever fetched. tldextract is imported at the first split."""

    def __init__(self, include_private: bool = True) -> None:
        # Private suffixes (github.io, blogspot.com, …) count: one blog on a shared host
        # must not make every other blog there look like the same site.
        self.include_private = include_private
        self._parents: dict[str, bool] = {}  # parent -> are its plain children registrable

    @cached_property
    def extractor(self):
        """The tldextract.TLDExtract every answer comes from."""
        import tldextract  # imported when first needed: it imports requests, a tenth of a second

        return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True,
                                     include_psl_private_domains=self.include_private)

    @cached_property
    def tlds(self) -> frozenset[str]:
        """Every rule in use (with '*.' and '!' as written): tldextract's ``tlds``."""
        return frozenset(self.extractor.tlds)

    def split(self, ascii_name: str) -> tuple[str, str]:
        """Return (public_suffix, registrable_domain) of an ASCII name; '' where there is none."""
        result = self.extractor.extract_str(ascii_name)
        if not result.suffix or not result.domain:
            return result.suffix, ""
        return result.suffix, f"{result.domain}.{result.suffix}"

    def is_registrable(self, name: str) -> bool:
        """Whether a normalised name is its own registrable domain: ``split(name)[1] == name``."""
        return self.all_registrable([name])

    def all_registrable(self, names: list[str], joined: str | None = None) -> bool:
        """Whether every normalised name (lowercase letter-digit-hyphen labels) is its own
        registrable domain, deciding most with one split per parent instead of one per name.
        `joined` is the names joined by newlines, when the caller has made it already.

        For label.parent the answer is the parent's alone, unless a rule reaches into the name
        itself (``label.parent``, ``!label.parent`` or a deeper rule through it) or a label is
        punycode (rules are matched in Unicode): then that name takes the full split.
        """
        special_names, probe_label = self._rules
        if "xn--" in ("\n".join(names) if joined is None else joined) or not special_names.isdisjoint(names):
            # Only those names take the full split: one IDN among a million names must not cost
            # a million splits. Picked out with C-level passes, as this runs over the whole list.
            special = list(map(or_, map(str.__contains__, names, repeat("xn--")),
                               map(special_names.__contains__, names)))
            if not all(self.split(name)[1] == name for name in compress(names, special)):
                return False
            names = list(compress(names, map(not_, special)))
        return self._all_by_parent(names, probe_label)

    def _all_by_parent(self, names: list[str], probe_label: str) -> bool:
        """all_registrable for names no rule reaches into and without punycode: each parent's
        answer, split once with a label no rule holds in front and kept for the next call."""
        parents = set(map(itemgetter(2), map(str.partition, names, repeat("."))))
        if "" in parents:
            return False  # a single label is never a registrable domain
        for parent in parents:
            answer = self._parents.get(parent)
            if answer is None:
                if len(self._parents) >= _MAX_PARENTS:
                    self._parents.clear()
                probe = f"{probe_label}.{parent}"
                answer = self._parents[parent] = self.split(probe)[1] == probe
            if not answer:
                return False
        return True

    @cached_property
    def _rules(self) -> tuple[frozenset[str], str]:
        """The names a rule reaches into (each rule and each parent of one, "!" dropped), and a
        label no rule holds, to stand for any other label."""
        names = set()
        add = names.add
        for name in map(str.removeprefix, self.tlds, repeat("!")):
            add(name)
            while "." in name:  # each parent: the name without its first label, and so on
                name = name.partition(".")[2]
                add(name)
        used = set(chain.from_iterable(map(str.split, names, repeat("."))))
        probe = "caseflag-probe"
        while probe in used:
            probe += "-x"
        return frozenset(names), probe


@lru_cache(maxsize=1)
def default_suffix_list() -> SuffixList:
    return SuffixList()


@dataclass(frozen=True)
class Hostname:
    """A public host name (or public IP address), normalised: lowercase ASCII, no trailing dot."""

    name: str
    registrable_domain: str | None
    public_suffix: str | None
    is_ip: bool = False
    # A special-use name that may be listed but is never sent to DNS (RFC 7686 .onion).
    never_resolved: bool = False

    @property  # read once per answer: a cached_property's lock would cost more than the check
    def unicode(self) -> str:
        """The name for display: IDN labels decoded."""
        if self.is_ip or "xn--" not in self.name:
            return self.name
        return _display_name(self.name)

    def candidates(self) -> list[str]:
        """The name and each parent down to the registrable domain, most specific first."""
        if self.is_ip or not self.registrable_domain:
            return [self.name]
        labels = self.name.split(".")
        stop = len(self.registrable_domain.split("."))
        return [".".join(labels[i:]) for i in range(0, len(labels) - stop + 1)]

    @classmethod
    def parse(cls, text: str, suffix_list: SuffixList | None = None) -> Hostname:
        return parse(text, suffix_list)


@lru_cache(maxsize=4096)
def _display_name(name: str) -> str:
    """Each punycode label decoded (RFC 3492), or the ASCII name when a label does not decode to a
    text with a letter beyond ASCII that encodes back to the label; extension/hostname.js keeps the
    same rule with punycode.js, so both show a name alike."""
    out = []
    for label in name.split("."):
        if not label.startswith("xn--"):
            out.append(label)
            continue
        try:
            text = label[4:].encode("ascii").decode("punycode")
            if text.isascii() or "xn--" + text.encode("punycode").decode("ascii") != label:
                return name
        except UnicodeError:
            return name
        out.append(text)
    return ".".join(out)


def _extract_host(text: str) -> str:
    """Cut scheme, userinfo, port, path, query and fragment from a URL or bare host.

    Every part that is cut must itself be well formed: a port from 1 to 65535, brackets only
    around an IPv6 address, no backslash or percent-encoding in the authority (browsers read
    those differently from the text, so the name asked about would not be the site visited).
    """
    rest = _SCHEME.sub("", text, count=1)
    if rest.startswith("//"):  # scheme-relative URL
        rest = rest[2:]
    for sep in "/?#":
        rest = rest.split(sep, 1)[0]
    if "\\" in rest:
        # WHATWG URL parsing reads a backslash as "/" in http(s) URLs: "a.com\\@b.com" opens a.com.
        raise InvalidDomain(key="error.backslash")
    rest = rest.rpartition("@")[2]  # userinfo: like browsers, everything up to the last "@"
    if "%" in rest:
        raise InvalidDomain(key="error.percent")
    if rest.startswith("["):
        end = rest.find("]")
        if end == -1:
            raise InvalidDomain(key="error.bracket_open")
        host, after = rest[1:end], rest[end + 1:]
        if not host:
            raise InvalidDomain(key="error.bracket_empty")
        if "[" in host or ":" not in host:
            raise InvalidDomain(key="error.bracket_not_ipv6", params={"name": host})
        if after and not after.startswith(":"):
            raise InvalidDomain(key="error.bracket_trailing")
        if after:
            _check_port(after[1:])
        return host
    if "[" in rest or "]" in rest:
        raise InvalidDomain(key="error.bracket_stray")
    if rest.count(":") == 1:
        rest, _, port = rest.partition(":")
        _check_port(port)
    return rest


def _check_port(port: str) -> None:
    """A port after ':' must be a number from 1 to 65535."""
    if not port:
        raise InvalidDomain(key="error.port_empty")
    if not (port.isascii() and port.isdigit()):
        raise InvalidDomain(key="error.port_not_number", params={"port": port[:20]})
    if not 0 < int(port) < 65536:
        raise InvalidDomain(key="error.port_range", params={"port": port[:20]})


def _to_ascii(host: str) -> str:
    if host.isascii():
        return host.lower()
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as err:
        raise InvalidDomain(key="error.idna", params={"detail": str(err)}) from err


def _parse_ip(host: str) -> Hostname | None:
    if ":" not in host and not host.replace(".", "").isdigit():
        return None  # IPv4 text is digits and dots only: a host name need not pay for two failed parses
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_global:
        raise NotPublicName(key="error.not_global_ip", params={"name": address.compressed})
    return Hostname(name=address.compressed, registrable_domain=None, public_suffix=None, is_ip=True)


def parse(text: str, suffix_list: SuffixList | None = None) -> Hostname:
    """Parse a bare host or a URL into a Hostname, or raise InvalidDomain / NotPublicName."""
    if suffix_list is None and isinstance(text, str) and len(text) <= 255:
        return _parse_recent(text)  # browsers ask about the same few hosts again and again
    return _parse(text, suffix_list)


@lru_cache(maxsize=4096)
def _parse_recent(text: str) -> Hostname:
    return _parse(text, None)


def _parse(text: str, suffix_list: SuffixList | None) -> Hostname:
    if not isinstance(text, str):
        raise InvalidDomain(key="error.not_text")
    text = text.strip()
    if not text:
        raise InvalidDomain(key="error.empty")
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidDomain(key="error.too_long_input", params={"limit": MAX_INPUT_LENGTH})
    if _CONTROL.search(text):
        raise InvalidDomain(key="error.control")

    host = _extract_host(text)
    if ":" in host:
        ip = _parse_ip(host)
        if ip is None:
            raise InvalidDomain(key="error.neither", params={"name": host})
        return ip
    host = host.removesuffix(".")
    if not host:
        raise InvalidDomain(key="error.empty")
    ip = _parse_ip(host)
    if ip is not None:
        return ip

    name = _to_ascii(host)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidDomain(key="error.name_too_long", params={"limit": MAX_NAME_LENGTH})
    for label in name.split("."):
        if not label:
            raise InvalidDomain(key="error.empty_label")
        if len(label) > MAX_LABEL_LENGTH:
            raise InvalidDomain(key="error.label_too_long", params={"label": label[:20], "limit": MAX_LABEL_LENGTH})
        if not _LABEL.match(label):
            raise InvalidDomain(key="error.label_chars", params={"label": label})
    special = special_use_suffix(name)
    if special is not None and special not in NEVER_RESOLVED_TLDS:
        raise NotPublicName(key="error.special_use_itself" if special == name else "error.special_use",
                            params={"name": name, "suffix": special, "kind": SPECIAL_USE_KINDS[special]})
    if "." not in name:
        raise NotPublicName(key="error.single_label", params={"name": name})

    suffix, registrable = (suffix_list or default_suffix_list()).split(name)
    if special is not None:  # .onion: the name's own last two labels, whatever the suffix list says
        suffix, registrable = special, ".".join(name.split(".")[-2:])
    if not suffix:
        raise NotPublicName(key="error.no_suffix", params={"name": name})
    if not registrable:
        raise NotPublicName(key="error.is_suffix", params={"name": name})
    return Hostname(name=name, registrable_domain=registrable, public_suffix=suffix,
                    never_resolved=special is not None)
