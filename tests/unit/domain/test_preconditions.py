"""Preconditions (`expect`, and the selector's `matchedBy`) are checked on the version the call is
based on: a mismatch changes nothing and names the attribute, never a value."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.domain.lane_world import LaneWorld
from tests.unit.updater.factories import DATASTORE_ID, IMAGE_SET_ID
from updater.domain.errors import FailureCode, RequestRejected
from updater.domain.outcome import OutcomeStatus
from updater.domain.request import UpdateRequest, parse_update_request
from updater.domain.validation import validate_request


def guarded(request_id: str, *, expect: Any = None, matched_by: Any = None, **dicom: Any) -> UpdateRequest:
    body: dict[str, Any] = {
        "datastoreId": DATASTORE_ID,
        "imageSetId": IMAGE_SET_ID,
        "requestId": request_id,
        "DICOMUpdates": {"updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": dicom}}},
    }
    if expect is not None:
        body["expect"] = expect
    if matched_by is not None:
        body["matchedBy"] = matched_by
    return parse_update_request(body)


def test_a_precondition_that_holds_lets_the_update_through() -> None:
    world = LaneWorld(settle_s=0.5)
    current = world.patient()["PatientID"]
    world.submit(guarded("r1", expect={"Patient": {"PatientID": current}}, PatientName="NEW^NAME"))
    outcome = world.run()["r1"]
    assert outcome.status is OutcomeStatus.SUCCEEDED
    assert world.versions() == 2


def test_a_precondition_mismatch_changes_nothing_and_names_no_value() -> None:
    world = LaneWorld(settle_s=0.5)
    world.submit(guarded("r1", expect={"Patient": {"PatientID": "SECRET-OLD-ID"}}, PatientName="X^Y"))
    outcome = world.run()["r1"]
    assert outcome.status is OutcomeStatus.FAILED
    assert outcome.error_code is FailureCode.PRECONDITION_FAILED
    assert outcome.error_message is not None and "Patient.PatientID" in outcome.error_message
    assert "SECRET" not in outcome.model_dump_json()
    assert world.versions() == 1
    assert world.images.calls["UpdateImageSetMetadata"] == 0


def test_an_older_correction_never_overwrites_a_newer_one() -> None:
    """Two corrections each expecting the identity they saw: the later one's expectation no longer
    holds once the first applied, and it ends PRECONDITION_FAILED instead of rebasing."""
    world = LaneWorld(settle_s=0.5)
    old = world.patient()["PatientID"]
    world.submit(
        guarded("new", expect={"Patient": {"PatientID": old}}, PatientID="NEW-ID"),
        guarded("stale", expect={"Patient": {"PatientID": old}}, PatientID="STALE-ID"),
    )
    outcomes = world.run()
    assert outcomes["new"].status is OutcomeStatus.SUCCEEDED
    assert outcomes["stale"].error_code is FailureCode.PRECONDITION_FAILED
    assert world.patient()["PatientID"] == "NEW-ID"
    assert world.versions() == 2


def test_a_selector_value_that_moved_on_is_not_matched_rather_than_failed() -> None:
    world = LaneWorld(settle_s=0.5)
    world.submit(guarded("child", matched_by={"Patient": {"IssuerOfPatientID": "OTHER"}}, PatientName="A"))
    outcome = world.run()["child"]
    assert outcome.error_code is FailureCode.SELECTOR_NOT_MATCHED
    assert world.versions() == 1


def test_null_expects_the_attribute_absent_or_empty() -> None:
    world = LaneWorld(settle_s=0.5)
    world.submit(guarded("r1", expect={"Patient": {"EthnicGroup": None}}, PatientName="A^B"))
    assert world.run()["r1"].status is OutcomeStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("expect", "code"),
    [
        ({"Patient": {"NotAKeyword": "x"}}, FailureCode.UNKNOWN_KEYWORD),
        ({"Patient": {"StudyDescription": "x"}}, FailureCode.WRONG_LEVEL),
    ],
)
def test_expectations_name_keywords_of_their_level(expect: Any, code: FailureCode) -> None:
    request = guarded("r1", expect=expect, PatientName="A")
    assert [f.code for f in validate_request(request)] == [code]


@pytest.mark.parametrize(
    "expect", [{"Series": {"Modality": "CT"}}, {"Patient": {"PatientID": ["a", "b"]}}, {}, {"Patient": {}}]
)
def test_malformed_expectations_are_rejected_without_values(expect: Any) -> None:
    with pytest.raises(RequestRejected) as rejected:
        guarded("r1", expect=expect, PatientName="A")
    assert rejected.value.code in (FailureCode.SCHEMA_VIOLATION, FailureCode.UNKNOWN_DOCUMENT_KEY)


def test_preconditions_leave_the_digest_of_requests_without_them_unchanged() -> None:
    plain = guarded("", PatientName="A")
    assert plain.request_id == plain.content_digest()
    assert "expect" not in plain.wire_dict()
    assert guarded("", expect={"Patient": {"PatientID": "1"}}, PatientName="A").request_id != plain.request_id
