"""How ids the caller sent are repeated: as sent when they match their pattern, by fingerprint
otherwise; and the forms the updater derives are no caller's to take."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.unit.updater.factories import patient_doc, update_request
from updater.domain.errors import FailureCode
from updater.domain.identifiers import (
    fingerprint,
    invalid_form,
    is_request_id,
    is_version_id,
    reported_request_id,
    reported_resource_id,
)
from updater.domain.validation import validate_request


def test_a_fingerprint_is_the_first_12_hex_of_sha256_and_the_length() -> None:
    value = "Doe^Jane"
    expected = hashlib.sha256(value.encode()).hexdigest()[:12]
    assert fingerprint(value) == f"sha256:{expected}:len8"
    assert invalid_form(value) == f"invalid:sha256:{expected}:len8"


@pytest.mark.parametrize(
    "value",
    ["Doe Jane", "x" * 129, "a\x00b", "\u00e9", "\ud800", "", "a\n", "invalid:sha256:0:len1", "reused:x"],
)
def test_requestids_that_fail_their_pattern_are_reported_by_fingerprint(value: str) -> None:
    assert not is_request_id(value)
    assert reported_request_id(value) == invalid_form(value)


def test_values_that_are_not_strings_are_reported_by_their_json_type_only() -> None:
    assert [invalid_form(v) for v in (12345678, None, True, [1], {"a": 1})] == [
        "invalid:number", "invalid:null", "invalid:boolean", "invalid:array", "invalid:object",
    ]  # fmt: skip


def test_valid_ids_are_repeated_as_sent_and_absent_ones_stay_empty() -> None:
    assert reported_request_id("req-1:a/b") == "req-1:a/b"
    assert reported_resource_id("a" * 32) == "a" * 32
    assert reported_resource_id("A" * 32).startswith("invalid:sha256:")
    assert reported_resource_id(None) == reported_resource_id("") == ""


@pytest.mark.parametrize("version", ["\u0663", "1\u0663", "\uff11", "1" * 21, "-1", "1\n", " 1", ""])
def test_versions_are_ascii_digits_only(version: str) -> None:
    assert not is_version_id(version)
    codes = [
        f.code
        for f in validate_request(update_request(patient_doc(PatientName="A"), expectedVersionId=version))
    ]
    assert codes == [FailureCode.INVALID_VERSION_ID]


def test_unicode_digits_are_no_uid_nor_date() -> None:
    bad = patient_doc(PatientBirthDate="\u0661\u0669\u0667\u0660\u0660\u0661\u0660\u0661")
    assert [f.code for f in validate_request(update_request(bad))] == [FailureCode.INVALID_VALUE_FOR_VR]
    series = {"SchemaVersion": 1.1, "Study": {"Series": {"1.2.\u0663": {"DICOM": {"Modality": "CT"}}}}}
    assert FailureCode.INVALID_UID_KEY in [f.code for f in validate_request(update_request(series))]
    assert json.dumps(fingerprint("1.2.\u0663"))  # a fingerprint is plain ASCII
