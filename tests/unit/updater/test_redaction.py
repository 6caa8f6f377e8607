"""Keys and file names in messages: shown when they belong to a fixed vocabulary or look
machine-made, by fingerprint otherwise (a key or a file name is the caller's text)."""

from __future__ import annotations

import pytest

from tests.unit.updater.factories import update_request
from updater.domain.errors import RequestRejected
from updater.domain.outcome import scrub_message
from updater.domain.redaction import shown_file_name, shown_key, withheld
from updater.domain.request import parse_update_request
from updater.domain.validation import validate_request

MARKER = "Zqxmarker"


@pytest.mark.parametrize(
    "key", ["PatientName", "00091001", "1.2.840.10008.1", "DICOM", "Series", "SchemaVersion", "dicomvrs"]
)
def test_dicom_names_structure_keys_tags_and_uids_are_shown(key: str) -> None:
    assert shown_key(key) == key


@pytest.mark.parametrize(
    "key", [MARKER, "PatientNickname", "12345678", "Smith, John", "00091001\n", "PatientName\u200b", ""]
)
def test_any_other_key_is_shown_by_fingerprint(key: str) -> None:
    assert shown_key(key) == withheld(key)
    assert key not in shown_key(key) or key == ""


def test_the_withheld_form_survives_scrubbing() -> None:
    form = withheld(MARKER)
    assert scrub_message(form) == form


@pytest.mark.parametrize(
    "document",
    [
        {"SchemaVersion": 1.1, "Patient": {"DICOM": {MARKER: "x"}}},
        {"SchemaVersion": 1.1, MARKER: {}},
        {"SchemaVersion": 1.1, "Patient": {MARKER: {}}},
        {"SchemaVersion": 1.1, "Study": {"Series": {MARKER: {"DICOM": {}}}}},
        {"SchemaVersion": 1.1, "Patient": {"DICOM": {"00111001": "x"}, "DICOMVRs": {MARKER: "PN"}}},
    ],
    ids=["keyword", "top-level", "level", "uid", "vr-key"],
)
def test_no_document_key_is_quoted_in_a_failure(document: dict[str, object]) -> None:
    failures = validate_request(update_request(document))
    assert failures
    assert all(MARKER not in f.field + f.message for f in failures)


def test_unknown_request_fields_are_shown_only_when_they_are_a_case_slip_of_a_field() -> None:
    for field, shown in ((MARKER, False), ("dryrun", True), ("DICOMUPDATES", True)):
        with pytest.raises(RequestRejected) as caught:
            parse_update_request({"datastoreId": "a" * 32, "imageSetId": "b" * 32, field: 1})
        assert (field in caught.value.summary()) is shown


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("1.2.840.113619.2.55.3.dcm", True),
        ("input/1.2.3/4.5.dcm", False),  # "input" is a word
        ("0f8fad5b-d9cb-469f-a165-70867728950e.dcm", True),
        ("00000001", True),
        ("SMITH_JOHN.dcm", False),
        ("ada.dcm", False),  # hex letters only, but a word
        ("smith/1.dcm", False),
        ("", False),
    ],
)
def test_file_names_are_listed_only_when_machine_made(name: str, shown: bool) -> None:
    assert (shown_file_name(name) == name) is shown
    if not shown:
        assert shown_file_name(name).startswith("file:sha256:")
