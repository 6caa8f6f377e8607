"""The samples of the corrections' shapes under events/: selector and merge requests, HL7 ADT
messages, aggregate outcomes. Each parses as what it is and validates against its JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from updater.domain.batch import BatchOutcome
from updater.domain.selectors import parse_parent_request, template_request
from updater.domain.validation import validate_request
from updater.hl7 import Hl7Translation

EVENTS = Path(__file__).resolve().parents[3] / "events"
SELECTORS = sorted((EVENTS / "requests" / "selectors").glob("*.json"))
OUTCOMES = sorted((EVENTS / "outcomes").glob("batch-*.json"))


def schema(name: str) -> dict[str, object]:
    return json.loads((EVENTS / "schemas" / name).read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("sample", SELECTORS, ids=lambda path: path.name)
def test_selector_samples_are_valid_parents(sample: Path) -> None:
    document = json.loads(sample.read_text())
    jsonschema.validate(document, schema("selector-request.schema.json"))
    assert validate_request(template_request(parse_parent_request(document))) == ()


@pytest.mark.parametrize("sample", OUTCOMES, ids=lambda path: path.name)
def test_aggregate_outcome_samples_match_the_model_and_schema(sample: Path) -> None:
    envelope = json.loads(sample.read_text())
    jsonschema.validate(envelope["detail"], schema("batch-outcome.schema.json"))
    outcome = BatchOutcome.model_validate(envelope["detail"])
    assert outcome.detail_type() == envelope["detail-type"]


@pytest.mark.parametrize("sample", sorted((EVENTS / "hl7").glob("*.hl7")), ids=lambda path: path.name)
def test_hl7_samples_translate(sample: Path) -> None:
    translated = Hl7Translation("12345678901234567890123456789012").translate(sample.read_text())
    assert type(translated).__name__ == ("NotForUpdater" if "ignored" in sample.name else "ParentMessage")
    if type(translated).__name__ == "ParentMessage":
        jsonschema.validate(translated.request.wire_dict(), schema("selector-request.schema.json"))  # type: ignore[union-attr]
