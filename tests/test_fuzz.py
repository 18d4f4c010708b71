"""Property tests over input parsing and the API: any input is an answer or a clear refusal, never a 500.

Every test counts the inputs it tries (conftest.fuzzed); the run prints the total, which a full
run keeps at FUZZ_MINIMUM or more (test_the_fuzz_plan_reaches_the_minimum).
"""

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseflag.web.app import create_app
from caseflag.core.domains import parse
from caseflag.core.errors import CaseflagError, InvalidDomain, NotPublicName
from caseflag.web.limits import MAX_JSON_DEPTH, json_depth, load_json
from conftest import FUZZ_COUNTS, FUZZ_MINIMUM, fuzzed

# Inputs each fuzz test tries (at least); test_network and test_openapi add their own.
PLAN = {"parse": 5000, "api_get_check": 1500, "api_post_domains": 300, "api_post_bodies": 1000,
        "api_get_parameters": 1000, "json_depth": 300}
OTHER_PLANS = {"dns_hostile_wire": 1500}  # tests/test_network.py

host_chars = string.ascii_letters + string.digits + "-._:/[]@?#%\\" + "äöüß食狮公司"
hostish = st.lists(st.text(alphabet=host_chars, min_size=0, max_size=70), min_size=1, max_size=6).map(".".join)
ports = st.one_of(st.integers(-5, 70000).map(str), st.text(alphabet=string.digits + "x: ", max_size=7))
urlish = st.builds(lambda scheme, user, host, port, path: f"{scheme}{user}{host}{port}{path}",
                   st.sampled_from(["", "http://", "https://", "//", "ftp://", "HTTP://"]),
                   st.sampled_from(["", "u@", "u:p@", "@", "a@b@", "u%40@", "\\@"]),
                   st.one_of(hostish, st.sampled_from(["thepiratebay.org", "[2606:4700::1]", "1.1.1.1", "shop.onion",
                                                       "printer.home.arpa", "[::1]", "[thepiratebay.org]"])),
                   st.one_of(st.just(""), ports.map(lambda p: ":" + p)),
                   st.sampled_from(["", "/", "/x?y#z", "?q", "#f"]))
anything = st.one_of(st.text(max_size=300), hostish, urlish, st.text(min_size=2000, max_size=6000),
                     st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
FUZZ_SETTINGS = dict(deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                            HealthCheck.filter_too_much, HealthCheck.data_too_large])


def run_fuzz(name: str, strategy, check, examples: int | None = None) -> None:
    """Run `check` over `strategy` for the planned number of inputs, counting each one tried."""
    planned = PLAN.get(name) or OTHER_PLANS[name] if examples is None else examples
    before = FUZZ_COUNTS[name]

    @settings(max_examples=planned, **FUZZ_SETTINGS)
    @given(strategy)
    def each(value):
        fuzzed(name)
        check(value)

    each()
    assert FUZZ_COUNTS[name] - before >= planned, f"{name}: only {FUZZ_COUNTS[name] - before} inputs tried"


def test_the_fuzz_plan_reaches_the_minimum():
    """The planned inputs of every fuzz test add up to the minimum a full run must try."""
    assert sum(PLAN.values()) + sum(OTHER_PLANS.values()) >= FUZZ_MINIMUM


def test_parse_returns_a_hostname_or_a_clear_refusal():
    def check(text):
        try:
            hostname = parse(text)
        except (InvalidDomain, NotPublicName) as err:
            assert err.message and err.status in (400, 422)
            return
        assert hostname.name == hostname.name.lower()
        assert len(hostname.name) <= 253
        if not hostname.is_ip:
            assert hostname.name.endswith(hostname.registrable_domain)
            assert parse(hostname.name) == hostname  # normalising is idempotent

    run_fuzz("parse", anything, check)


@pytest.fixture(scope="module")
def offline_client():
    from conftest import DATA_DIR

    return create_app({"DNS_ENABLED": False, "RATE_LIMIT": "", "DATA_DIR": str(DATA_DIR)}).test_client()


def assert_one_shape(response, allowed=(200, 400, 413, 422)):
    assert response.status_code in allowed, (response.status_code, response.get_data(as_text=True)[:500])
    if response.status_code >= 400:
        body = response.get_json()
        assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"], body


def test_api_never_answers_5xx(offline_client):
    def check(text):
        response = offline_client.get("/api/v1/check", query_string={"domain": text})
        assert_one_shape(response, (200, 400, 422))
        body = response.get_json()
        assert ("verdict" in body) if response.status_code == 200 else body["error"]["message"]

    run_fuzz("api_get_check", anything.filter(_encodable), check)


def _encodable(text: str) -> bool:
    """What an HTTP client can send at all (a lone surrogate has no UTF-8 form)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def test_batch_api_never_answers_5xx(offline_client):
    def check(texts):
        response = offline_client.post("/api/v1/check", json={"domains": texts})
        assert response.status_code == 200
        assert len(response.get_json()["results"]) == len(texts)

    run_fuzz("api_post_domains", st.lists(anything.filter(_encodable), max_size=20), check)


# --- request bodies: any JSON value, hostile nesting, keys, strings, and bytes that are not JSON -----

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30), urlish),
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=10), inner, max_size=6)),
    max_leaves=30)


def _nested(depth: int, inner: str = '"a.com"') -> str:
    return "[" * depth + inner + "]" * depth


def sizes(largest: int):
    """Mostly small counts around the bounds, sometimes a hostile one."""
    return st.one_of(st.integers(0, 80), st.integers(0, largest))


raw_bodies = st.one_of(
    json_values.map(lambda value: json.dumps(value).encode()),
    json_values.map(lambda value: json.dumps({"domains": value}).encode()),
    st.lists(anything, max_size=30).map(lambda items: json.dumps({"domains": items}).encode()),
    sizes(100_000).map(lambda n: ('{"domains": ' + _nested(n) + "}").encode()),
    sizes(60_000).map(lambda n: ("{" + '"a":{' * n + "}" * n + "}").encode()),
    sizes(3000).map(lambda n: json.dumps({"domains": ["a.com"], **{f"k{i}": i for i in range(n)}}).encode()),
    sizes(100_000).map(lambda n: ('{"domains": ["' + "a" * n + '.com"]}').encode()),
    st.sampled_from([b'{"domains": ["\\ud800.com"]}', b'{"\\udfff": 1}', b'"\\', b"", b"\xff\xfe{}",
                     b'{"domains": [1e999999]}', b'{"domains": [' + b"9" * 5000 + b"]}", b"NaN",
                     b'{"domains": ["a.com"]' + b"]" * 1000, b'["\\"' + b"[" * 10000]),
    st.binary(max_size=300),
)


def test_request_bodies_never_answer_5xx(offline_client):
    """POST /api/v1/check with any body: 200 or a 4xx in the one shape, as JSON and as CSV."""
    def check(args):
        body, fmt, content_type = args
        response = offline_client.post(f"/api/v1/check?format={fmt}", data=body, content_type=content_type)
        assert_one_shape(response)

    run_fuzz("api_post_bodies", st.tuples(raw_bodies, st.sampled_from(["json", "csv"]),
                                          st.sampled_from(["application/json"] * 4 + ["text/plain"])), check)


ENDPOINTS = ["/api/v1/check", "/api/v1/entities", "/api/v1/entities/the-pirate-bay", "/api/v1/cases",
             "/api/v1/cases/pirate-bay-trial-sweden", "/api/v1/providers", "/api/v1/dataset", "/healthz",
             "/api/v1/entities/{}", "/api/v1/cases/{}", "/", "/lookup", "/entities/{}", "/cases/{}"]
parameter = st.sampled_from(["domain", "lang", "format", "x", "domain[]", ""])
parameter_value = st.one_of(anything.filter(_encodable), st.sampled_from(["de", "pt-BR", "x" * 36, "de\n", "csv", ""]))


def test_parameters_and_headers_never_answer_5xx(offline_client):
    """Any endpoint, any query parameters, Accept-Language and If-None-Match: never a 5xx."""
    def check(args):
        path, ident, params, language, etag = args
        response = offline_client.get(path.format(ident), query_string=params,
                                      headers={"Accept-Language": language, "If-None-Match": etag})
        assert response.status_code in (200, 304, 400, 404, 413, 422), (path, params, response.status_code)
        if response.status_code >= 400 and response.mimetype == "application/json":
            assert response.get_json()["error"]["message"]

    idents = st.text(alphabet=string.ascii_letters + string.digits + "-_.%~", min_size=1, max_size=80)
    headers = st.text(alphabet=string.printable.replace("\r", "").replace("\n", ""), max_size=200)
    run_fuzz("api_get_parameters", st.tuples(st.sampled_from(ENDPOINTS), idents,
                                             st.lists(st.tuples(parameter, parameter_value), max_size=4),
                                             headers, headers), check)


def test_json_depth_matches_the_decoder():
    """The depth scan agrees with the structure the decoder builds, brackets inside strings aside."""
    def depth_of(value) -> int:
        if isinstance(value, list):
            return 1 + max(map(depth_of, value), default=0)
        if isinstance(value, dict):
            return 1 + max(map(depth_of, value.values()), default=0)
        return 0

    def check(value):
        raw = json.dumps(value).encode()
        assert json_depth(raw) == depth_of(value)
        if depth_of(value) <= MAX_JSON_DEPTH:
            try:
                assert load_json(raw, max_keys=10_000) == value
            except CaseflagError as err:  # text that is no text, or a number JSON does not have
                assert "surrogate" in err.message or "NaN or Infinity" in err.message

    run_fuzz("json_depth", json_values, check)


def test_caseflag_errors_share_one_base():
    assert issubclass(InvalidDomain, CaseflagError) and issubclass(NotPublicName, CaseflagError)
