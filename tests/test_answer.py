"""The answer's model: every answer is an Answer, encode writes it whole, and the OpenAPI document agrees."""

import json
import typing

import msgspec
import pytest

from caseflag.data.lint import schema_dir_for
from caseflag.exports.batchrecords import record_bytes
from caseflag.net.cache import TTLStore
from caseflag.data.dataset import DatasetStore
from caseflag.net.network import Resolver
from caseflag.service import answer as model
from caseflag.service.lookup import LookupService
from caseflag.web.openapi import build as build_openapi
from conftest import DATA_DIR

NAMES = ["www.thepiratebay.org", "cf-shop.com", "www.cf-shop.com", "asn-only.com", "plain-site.org", "servfail.com",
         "xn--mnchen-3ya.de", "mega.co.nz", "no-such-name.com", "1.1.1.1"]
# The model's types and the OpenAPI document's components that describe the same objects.
COMPONENTS = {"Answer": "CheckResult", "Match": "Match", "CaseInvolvement": "CaseInvolvement",
              "SourceRef": "SourceRef", "EntitySummary": "EntitySummary", "RelatedEntity": "RelatedEntity",
              "Verdict": "Verdict", "Explanation": "Explanation", "Evidence": "Evidence", "AsnInfo": "AsnInfo",
              "InfrastructureReport": "Infrastructure",
              "Badge": "Badge", "ProviderEntry": "ProviderEntry", "Alias": "Alias"}


@pytest.fixture(scope="module")
def answers(dns_server):
    service = LookupService(DatasetStore(DATA_DIR), Resolver([dns_server.nameserver], 1.0), TTLStore(100))
    return [service.check(name, lang=lang) for name in NAMES for lang in (None, "de")]


def test_every_answer_is_an_answer_of_the_model(answers):
    """msgspec reads each answer as an Answer and gives back the same answer: no field of another
    type, none missing and (as converting drops unknown keys) none the model lacks."""
    for answer in answers:
        assert msgspec.convert(answer, model.Answer) == answer, answer["query"]
    assert {answer["verdict"]["level"] for answer in answers} >= {"target", "related", "infrastructure", "none"}


def test_encode_writes_the_answer_whole_and_compact(answers):
    """encode's bytes read back as the answer, and are json.dumps's compact text of it in UTF-8;
    a batch's full record is the same with its line first."""
    compact = {"ensure_ascii": False, "separators": (",", ":")}
    for answer in answers:
        text = model.encode(answer).decode("utf-8")
        assert json.loads(text) == answer
        assert text == json.dumps(answer, **compact)
        assert record_bytes("jsonl", 7, answer, full=True) == (json.dumps({"line": 7, **answer}, **compact)
                                                               + "\n").encode()


def test_a_changed_answer_is_encoded_as_changed(answers):
    """Nothing is encoded ahead of time: a field changed after the answer was built is in its JSON."""
    answer = next(a for a in answers if a["matches"])
    changed = {**answer, "matches": [{**answer["matches"][0], "role": "changed"}]}
    assert json.loads(model.encode(changed))["matches"][0]["role"] == "changed"


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_the_openapi_document_describes_the_model(name):
    """Each typed object is its OpenAPI component, under the document's own name: the same fields,
    required and optional, the same enums, and closed to other keys."""
    schema = build_openapi(schema_dir_for(DATA_DIR))["components"]["schemas"][COMPONENTS[name]]
    kind = getattr(model, name)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == kind.__required_keys__
    assert set(schema["properties"]) == kind.__required_keys__ | kind.__optional_keys__
    literals = {key: set(typing.get_args(hint)) for key, hint in typing.get_type_hints(kind).items()
                if typing.get_origin(hint) is typing.Literal}
    for key, values in literals.items():
        assert set(schema["properties"][key]["enum"]) == values, key
