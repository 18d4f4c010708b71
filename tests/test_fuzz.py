"""Property tests over input parsing: any text is a Hostname or a clear refusal, never a crash."""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pytest

from caseflag.app import create_app
from caseflag.domains import parse
from caseflag.errors import CaseflagError, InvalidDomain, NotPublicName

host_chars = string.ascii_letters + string.digits + "-._:/[]@?#%" + "äöüß食狮公司"
hostish = st.lists(st.text(alphabet=host_chars, min_size=0, max_size=70), min_size=1, max_size=6).map(".".join)
anything = st.one_of(st.text(max_size=300), hostish, st.text(min_size=2000, max_size=6000),
                     st.binary(max_size=200).map(lambda b: b.decode("latin-1")))


@settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(anything)
def test_parse_returns_a_hostname_or_a_clear_refusal(text):
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


@pytest.fixture(scope="module")
def offline_client():
    from conftest import DATA_DIR

    return create_app({"DNS_ENABLED": False, "RATE_LIMIT": "", "DATA_DIR": str(DATA_DIR)}).test_client()


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(anything)
def test_api_never_answers_5xx(offline_client, text):
    response = offline_client.get("/api/v1/check", query_string={"domain": text})
    assert response.status_code in (200, 400, 422), response.get_data(as_text=True)
    body = response.get_json()
    assert ("verdict" in body) if response.status_code == 200 else body["error"]["message"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(anything, max_size=20))
def test_batch_api_never_answers_5xx(offline_client, texts):
    response = offline_client.post("/api/v1/check", json={"domains": texts})
    assert response.status_code == 200
    assert len(response.get_json()["results"]) == len(texts)


def test_caseflag_errors_share_one_base():
    assert issubclass(InvalidDomain, CaseflagError) and issubclass(NotPublicName, CaseflagError)
