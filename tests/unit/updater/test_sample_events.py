"""The request samples under events/requests: the same files the README, demo and integration tests use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.updater.factories import metadata_document
from updater.domain.errors import FailureCode, RequestRejected
from updater.domain.planning import plan_update
from updater.domain.request import parse_update_request
from updater.domain.validation import validate_request

REQUESTS = Path(__file__).resolve().parents[3] / "events" / "requests"
EXPECTED = json.loads((REQUESTS / "bad" / "expected.json").read_text(encoding="utf-8"))


def failure_codes(path: Path) -> list[FailureCode]:
    try:
        request = parse_update_request(path.read_bytes())
    except RequestRejected as rejected:
        return [failure.code for failure in rejected.failures]
    return [failure.code for failure in validate_request(request)]


@pytest.mark.parametrize("sample", sorted(REQUESTS.glob("*.json")), ids=lambda path: path.name)
def test_good_samples_are_valid(sample: Path) -> None:
    assert failure_codes(sample) == []


def test_the_seven_seed_examples_are_all_there() -> None:
    assert len(sorted(REQUESTS.glob("0[1-7]-*.json"))) == 7


@pytest.mark.parametrize(("name", "code"), sorted(EXPECTED.items()))
def test_bad_samples_fail_with_their_expected_code(name: str, code: str) -> None:
    assert failure_codes(REQUESTS / "bad" / name) == [FailureCode(code)]


def test_every_bad_sample_has_an_expectation() -> None:
    names = {path.name for path in (REQUESTS / "bad").glob("*.json")} - {"expected.json"}
    assert names == set(EXPECTED)


def test_cli_sample_and_native_sample_are_the_same_request_apart_from_the_pin() -> None:
    cli = parse_update_request((REQUESTS / "cli-input-update-patient-name.json").read_bytes())
    native = parse_update_request((REQUESTS / "01-update-patient-name.json").read_bytes())
    assert cli.expected_version_id == "1"
    assert cli.dicom_updates == native.dicom_updates


def test_first_seed_example_changes_the_patient_name_of_the_sample_metadata() -> None:
    request = parse_update_request((REQUESTS / "01-update-patient-name.json").read_bytes())
    assert plan_update(request, metadata_document()).changed == {"Patient": ["PatientName"]}
