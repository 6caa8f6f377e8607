"""Corrections the way hospitals send them, through the local stack: per patient (a selector
request, an HL7 A08), a merge (HL7 A40), a precondition that no longer holds; each ends in one
aggregate outcome, and replaying any of them creates no version. Each child carries its parent's
caller and leaves its audit record; a caller without patientLevel is refused; the fan-out limit
(MAX_FAN_OUT, 3 here) ends a larger match FAN_OUT_TOO_LARGE; no value reaches a log line."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from local.callers import caller_session, local_principal
from local.chaos_evidence import receive_all
from local.corrections import (
    ISSUER,
    batch_outcome,
    hl7_message,
    patient_correction,
    seed_patient,
    send_hl7,
)
from local.healthimaging.profile import BehaviourProfile, SettleTime
from local.scenario import outcome_events, read_metadata, send_requests
from local.stack import LocalStack, LocalStackOptions

pytestmark = pytest.mark.integration

MAX_FAN_OUT = 3  # the seeded patient's three image sets fit; six do not
EMR_ROLE = local_principal("arn:aws:iam::111122223333:role/emr-events")  # dev: no patientLevel


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = LocalStackOptions(
        name_prefix=f"corr{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=5,
        function_timeout_s=30,
        emulator_profile=BehaviourProfile(settle=SettleTime(median_seconds=0.05, p99_seconds=0.2)),
        extra_environment={
            "UPDATE_RATE_PER_SECOND": "50",
            "UPDATE_BURST": "10",
            "MAX_FAN_OUT": str(MAX_FAN_OUT),
        },
    )
    with LocalStack(options) as running:
        yield running


def versions(stack: LocalStack, image_sets: list[str]) -> list[int]:
    return [len(stack.emulator.service.version_history(stack.datastore_id, i)) for i in image_sets]


def patient(stack: LocalStack, image_set: str) -> dict[str, str]:
    return read_metadata(stack, image_set)["Patient"]["DICOM"]  # type: ignore[no-any-return]


def run(stack: LocalStack) -> list[dict[str, object]]:
    stack.run_until_idle(90)
    return outcome_events(stack)


def new_patient_id() -> str:
    return f"P{uuid.uuid4().hex[:10].upper()}"


def audit_records(stack: LocalStack) -> list[dict[str, Any]]:
    assert stack.topology is not None
    bucket = stack.topology.function_of("ingest").environment["AUDIT_BUCKET"]
    s3, records = stack.aws.s3, []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            records.append(json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()))
    return records


def failure_codes(stack: LocalStack) -> dict[str, str]:
    """failureCode of each failure record taken off the failures queue, by its requestId."""
    assert stack.topology is not None
    found = {}
    for message in receive_all(stack.aws, stack.topology.queue("failures").url):
        attributes = message.get("MessageAttributes", {})
        request_id = attributes.get("requestId", {}).get("StringValue", "")
        found[request_id] = attributes["failureCode"]["StringValue"]
    return found


def test_one_request_corrects_the_patient_name_on_three_image_sets_in_two_studies(stack: LocalStack) -> None:
    patient_id = new_patient_id()
    image_sets = seed_patient(stack, patient_id)
    studies = {read_metadata(stack, i)["Study"]["DICOM"]["StudyInstanceUID"] for i in image_sets}
    assert len(image_sets) == 3 and len(studies) == 2
    run(stack)
    request = patient_correction(stack, "fix-name-1", patient_id, PatientName="DOE^JANE^Q")
    send_requests(stack, [request])
    events = run(stack)
    (detail,) = batch_outcome(events, "fix-name-1")
    assert (detail["status"], detail["matched"], detail["succeeded"]) == ("SUCCEEDED", 3, 3)
    assert {c["imageSetId"] for c in detail["children"]} == set(image_sets)  # type: ignore[index, union-attr]
    assert all(patient(stack, i)["PatientName"] == "DOE^JANE^Q" for i in image_sets)
    assert versions(stack, image_sets) == [2, 2, 2]
    children = [e for e in events if e["detail-type"] == "ImageSetMetadataUpdate.Succeeded"]
    assert len(children) == 3
    assert patient_id not in str(events) and "DOE^JANE" not in str(events)  # no PHI in outcomes

    # Each child ended with its audit record, as the parent's caller (the local operator).
    children_ids = {c["requestId"] for c in detail["children"]}  # type: ignore[index, union-attr]
    audited = [r for r in audit_records(stack) if r["requestId"] in children_ids]
    assert sorted(r["imageSetId"] for r in audited) == sorted(image_sets)
    assert {(r["kind"], r["status"], r["caller"]["name"]) for r in audited} == {
        ("change", "SUCCEEDED", "local-operator")
    }

    send_requests(stack, [request])  # replayed: the recorded children, no new version, no new outcome
    assert batch_outcome(run(stack), "fix-name-1") == []
    assert versions(stack, image_sets) == [2, 2, 2]
    assert len([r for r in audit_records(stack) if r["requestId"] in children_ids]) == 3


def test_an_adt_a08_updates_the_patient_everywhere_and_a_replay_changes_nothing(stack: LocalStack) -> None:
    patient_id = new_patient_id()
    image_sets = seed_patient(stack, patient_id)
    run(stack)
    a08 = hl7_message("adt-a08-update-patient.hl7", control_id=f"A08-{patient_id}", patient_id=patient_id)
    send_hl7(stack, a08)
    (detail,) = batch_outcome(run(stack), f"hl7-A08-{patient_id}")
    assert (detail["status"], detail["trigger"], detail["succeeded"]) == ("SUCCEEDED", "hl7", 3)
    for image_set in image_sets:
        demographics = patient(stack, image_set)
        assert (
            demographics["PatientName"],
            demographics["PatientBirthDate"],
            demographics["PatientSex"],
        ) == (
            "DOE^JANE^Q^DR",
            "19610615",
            "F",
        )
    send_hl7(stack, a08)
    assert batch_outcome(run(stack), f"hl7-A08-{patient_id}") == []
    assert versions(stack, image_sets) == [2, 2, 2]


def test_an_adt_a40_merges_the_old_patient_into_the_surviving_one(stack: LocalStack) -> None:
    old, new = new_patient_id(), new_patient_id()
    image_sets = seed_patient(stack, old)
    run(stack)
    a40 = hl7_message(
        "adt-a40-merge-patients.hl7", control_id=f"A40-{old}", patient_id=old, new_patient_id=new
    )
    send_hl7(stack, a40)
    (detail,) = batch_outcome(run(stack), f"hl7-A40-{old}")
    assert (detail["status"], detail["operation"], detail["succeeded"]) == ("SUCCEEDED", "merge", 3)
    for image_set in image_sets:
        assert (patient(stack, image_set)["PatientID"], patient(stack, image_set)["IssuerOfPatientID"]) == (
            new,
            ISSUER,
        )
    send_hl7(stack, a40)  # replayed after every image set left the old PatientID: still nothing new
    assert batch_outcome(run(stack), f"hl7-A40-{old}") == []
    assert versions(stack, image_sets) == [2, 2, 2]


def test_a_precondition_that_no_longer_holds_changes_nothing(stack: LocalStack) -> None:
    patient_id = new_patient_id()
    image_sets = seed_patient(stack, patient_id)
    run(stack)
    stale = patient_correction(stack, "stale-fix", patient_id, PatientName="OLD^CORRECTION")
    stale["expect"] = {"Patient": {"PatientName": "SOMEONE^ELSE"}}
    send_requests(stack, [stale])
    events = run(stack)
    (detail,) = batch_outcome(events, "stale-fix")
    assert (detail["status"], detail["errorCode"], detail["failed"]) == ("FAILED", "CHILDREN_FAILED", 3)
    failed = [e["detail"] for e in events if e["detail-type"] == "ImageSetMetadataUpdate.Failed"]
    assert {f["errorCode"] for f in failed} == {"PRECONDITION_FAILED"}
    assert versions(stack, image_sets) == [1, 1, 1]
    assert "SOMEONE" not in str(events)
    send_requests(stack, [stale])
    assert batch_outcome(run(stack), "stale-fix") == []
    assert versions(stack, image_sets) == [1, 1, 1]


def test_a_selector_that_matches_nothing_is_its_own_failure(stack: LocalStack) -> None:
    send_requests(stack, [patient_correction(stack, "nobody", "NO-SUCH-PATIENT", PatientName="X^Y")])
    (detail,) = batch_outcome(run(stack), "nobody")
    assert (detail["status"], detail["errorCode"]) == ("FAILED", "SELECTOR_MATCHED_NOTHING")


def test_a_caller_without_patient_level_is_refused_and_nothing_changes(stack: LocalStack) -> None:
    assert stack.topology is not None
    patient_id = new_patient_id()
    image_sets = seed_patient(stack, patient_id)
    run(stack)
    failure_codes(stack)  # start from an empty failures queue
    emr = caller_session(stack.moto.endpoint_url, EMR_ROLE).client(
        "sqs", endpoint_url=stack.moto.endpoint_url
    )
    a08 = hl7_message("adt-a08-update-patient.hl7", control_id=f"EMR-{patient_id}", patient_id=patient_id)
    emr.send_message(
        QueueUrl=stack.topology.queue("ingest").url,
        MessageBody=a08,
        MessageAttributes={"contentType": {"DataType": "String", "StringValue": "application/hl7-v2"}},
    )
    selector = patient_correction(stack, f"emr-{patient_id}", patient_id, PatientName="EMR^CHANGE")
    emr.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=json.dumps(selector))
    events = run(stack)
    codes = failure_codes(stack)
    # Each under a key of its own (refused:<mark>:<what it sent>), never the requestId it claimed.
    assert sorted(code for key, code in codes.items() if key.endswith(f"EMR-{patient_id}")) == [
        "OPERATION_NOT_ALLOWED"
    ]
    assert sorted(code for key, code in codes.items() if key.endswith(f"emr-{patient_id}")) == [
        "OPERATION_NOT_ALLOWED"
    ]
    assert all(key.startswith("refused:") for key in codes if patient_id in key)
    assert batch_outcome(events, f"hl7-EMR-{patient_id}") == []
    assert versions(stack, image_sets) == [1, 1, 1]


def test_a_match_larger_than_the_fan_out_limit_fails_clearly_and_changes_nothing(stack: LocalStack) -> None:
    patient_id = new_patient_id()
    image_sets = seed_patient(stack, patient_id) + seed_patient(stack, patient_id)  # six image sets
    run(stack)
    request = patient_correction(stack, f"too-many-{patient_id}", patient_id, PatientName="TOO^MANY")
    send_requests(stack, [request])
    (detail,) = batch_outcome(run(stack), f"too-many-{patient_id}")
    assert (detail["status"], detail["errorCode"]) == ("FAILED", "FAN_OUT_TOO_LARGE")
    assert str(MAX_FAN_OUT) in str(detail["errorMessage"])
    assert detail["children"] == []
    assert versions(stack, image_sets) == [1] * 6


def test_no_selector_or_hl7_value_reaches_a_log_line(stack: LocalStack) -> None:
    """Runs last in this module: every scenario above has logged by now."""
    logs = stack.function_logs()
    assert "fix-name-1" in logs  # the logs were captured (request ids are logged by design)
    for value in ("DOE^JANE", "19610615", "OLD^CORRECTION", "SOMEONE^ELSE", "EMR^CHANGE", "TOO^MANY", ISSUER):
        assert value not in logs, value
