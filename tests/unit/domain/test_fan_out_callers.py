"""A parent (selector, merge, HL7 ADT) is its caller's request: authorized before anything is
searched (the patientLevel right, and whatever its children will need), its children admitted as
that caller and audited like any request, its requestId bound to its content."""

from __future__ import annotations

import json
from typing import Any

from tests.unit.domain.fan_out_world import CLERK, OPERATOR, PROVENANCE, FanOutWorld
from tests.unit.updater.factories import DATASTORE_ID
from updater.domain.intake import Admission
from updater.domain.outcome import OutcomeStatus
from updater.domain.selectors import ParentMessage, child_request_id, parse_parent_request

A08 = "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|CTRL-7|P|2.5\rPID|1||2178309^^^^MR||ROE^RICHARD||19700101|M\r"


def patient_correction(request_id: str = "fix-name", name: str = "DOE^JANE", **extra: Any) -> dict[str, Any]:
    return {
        "datastoreId": DATASTORE_ID,
        "requestId": request_id,
        "selector": {"patient": {"PatientID": "2178309"}},
        "DICOMUpdates": {
            "updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientName": name}}}
        },
        **extra,
    }


def test_a_caller_without_patient_level_is_refused_before_anything_is_searched() -> None:
    world = FanOutWorld(image_sets=3)
    admitted = world.admit(patient_correction(), sender=CLERK)
    assert admitted.admission is Admission.REJECTED
    assert admitted.outcome is not None and admitted.outcome.error_code is not None
    assert admitted.outcome.error_code.value == "OPERATION_NOT_ALLOWED"
    assert admitted.outcome.request_id.startswith("refused:") and admitted.outcome.request_id.endswith(
        ":fix-name"
    )
    assert world.search.calls == 0 and world.lane_messages() == [] and world.batch_events() == []
    assert all(world.images.versions(DATASTORE_ID, i) == 1 for i in world.ids)
    assert world.ledger.get("fix-name") is None  # the refused sender holds no key a caller uses
    (record,) = world.audit.records
    assert (record.kind, record.caller.name) == ("refusal", "clerk")
    # The operator's request under the same requestId is untouched by the refusal.
    assert world.admit(patient_correction()).admission is Admission.FORWARDED


def test_an_hl7_message_from_a_caller_without_patient_level_is_refused() -> None:
    world = FanOutWorld(image_sets=2)
    admitted = world.admit(A08, "application/hl7-v2", sender=CLERK)
    assert admitted.admission is Admission.REJECTED
    assert [code for _, _, code, _ in world.failures.records] == ["OPERATION_NOT_ALLOWED"]
    assert world.search.calls == 0 and world.lane_messages() == []
    assert "ROE" not in str(admitted.outcome) and "2178309" not in str(admitted.outcome)


def test_an_unknown_sender_is_not_a_caller() -> None:
    world = FanOutWorld(image_sets=2)
    admitted = world.admit(patient_correction(), sender="AIDASTRANGER")
    assert admitted.outcome is not None and admitted.outcome.error_code is not None
    assert admitted.outcome.error_code.value == "CALLER_NOT_ALLOWED"
    assert world.search.calls == 0


def test_every_child_ends_with_its_audit_record_as_its_parents_caller() -> None:
    world = FanOutWorld(image_sets=3)
    world.admit(patient_correction())
    messages = world.lane_messages()
    assert {m.caller.name for m in messages} == {"operator"}
    outcomes = world.run_lanes(messages)
    assert {o.status for o in outcomes.values()} == {OutcomeStatus.SUCCEEDED}
    audited = world.audit.by_request()
    assert set(audited) == set(outcomes)
    assert {(r.kind, r.caller.name) for r in audited.values()} == {("change", "operator")}
    assert sorted(r.image_set_id for r in audited.values()) == world.ids


def test_a_parent_request_id_reused_for_other_content_never_touches_the_original() -> None:
    world = FanOutWorld(image_sets=2)
    world.admit(patient_correction())
    first = world.lane_messages()
    admitted = world.admit(patient_correction(name="OTHER^NAME"))
    assert admitted.admission is Admission.REJECTED
    assert admitted.outcome is not None and admitted.outcome.error_code is not None
    assert admitted.outcome.error_code.value == "REQUEST_ID_REUSED"
    assert admitted.outcome.request_id.startswith("reused:")
    assert world.lane_messages() == [] and world.search.calls == 1
    world.run_lanes(first)
    ((_, detail),) = world.batch_events()
    assert (detail["requestId"], detail["succeeded"]) == ("fix-name", 2)
    assert all(world.patient(i)["PatientName"] == "DOE^JANE" for i in world.ids)


def test_a_child_whose_id_a_caller_took_first_counts_as_failed_and_the_parent_still_ends() -> None:
    world = FanOutWorld(image_sets=2)
    taken = {
        "datastoreId": DATASTORE_ID,
        "imageSetId": world.ids[0],
        "requestId": child_request_id("fix-name", world.ids[0]),
        "DICOMUpdates": {
            "updatableAttributes": {
                "SchemaVersion": 1.1,
                "Patient": {"DICOM": {"PatientName": "TAKEN^FIRST"}},
            }
        },
    }
    assert world.admit(taken).admission is Admission.FORWARDED
    world.admit(patient_correction())
    outcomes = world.run_lanes(world.lane_messages())
    assert len(outcomes) == 2  # the caller's own request and the one child that could run
    ((detail_type, detail),) = world.batch_events()
    assert detail_type == "ImageSetMetadataUpdate.BatchPartiallyFailed"
    assert (detail["succeeded"], detail["failed"]) == (1, 1)
    assert {c["errorCode"] for c in detail["children"]} == {None, "REQUEST_ID_REUSED"}


def _last_try(world: FanOutWorld, body: dict[str, Any]) -> Any:
    """What the finalizer does with a parent intake could not take on any delivery."""
    message = ParentMessage(parse_parent_request(json.dumps(body)), "sqs")
    sender = PROVENANCE.callers.from_queue(OPERATOR)
    return world.intake.admit_parent(message, json.dumps(body), sender=sender, last_try=True)


def test_the_last_try_of_a_parent_that_never_fanned_out_ends_it_retries_exhausted_without_a_search() -> None:
    world = FanOutWorld(image_sets=2)
    _last_try(world, patient_correction())
    assert world.search.calls == 0 and world.lane_messages() == []
    ((detail_type, detail),) = world.batch_events()
    assert (detail_type, detail["errorCode"]) == ("ImageSetMetadataUpdate.BatchFailed", "RETRIES_EXHAUSTED")


def test_the_last_try_of_a_fanned_out_parent_sends_its_recorded_children_and_searches_nothing() -> None:
    world = FanOutWorld(image_sets=2)
    world.admit(patient_correction())
    first = world.lane_messages()
    _last_try(world, patient_correction())
    again = world.lane_messages()
    assert world.search.calls == 1
    assert {m.request.request_id for m in again} == {m.request.request_id for m in first}
    assert {m.caller.name for m in again} == {"operator"}
    world.run_lanes(first + again)
    ((detail_type, detail),) = world.batch_events()
    assert (detail_type, detail["succeeded"]) == ("ImageSetMetadataUpdate.BatchSucceeded", 2)
