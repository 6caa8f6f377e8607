"""Issue 18 through the real functions on the local stack: who sent a record comes from its
transport (moto names the signing principal as SenderId; the stage's rules stamp what they deliver),
the configured callers' rights are enforced per request, and every change leaves one audit record
in the stack's Object Lock bucket, with the values nowhere else."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from local.callers import caller_session, local_principal
from local.healthimaging.profile import BehaviourProfile
from local.moto_stack import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.scenario import import_image_set, outcome_events, read_metadata
from local.sqs_lambda_event import rule_stamped
from local.stack import LocalStack, LocalStackOptions
from tests.integration.test_corrections_end_to_end import audit_records, failure_codes

RIS_ROLE = local_principal("arn:aws:iam::111122223333:role/ris-corrections")  # dev: no force right
VALUE = "AUDIT^MRKVALUE"  # a value: only the audit record may hold it
TICKET = "INC-MRKTICKET"
REQUESTER = "dr.MRKREQUESTER"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = LocalStackOptions(
        name_prefix=f"prov{uuid.uuid4().hex[:6]}-",
        function_timeout_s=30,
        emulator_profile=BehaviourProfile.fast(),
    )
    with LocalStack(options) as running:
        yield running


@pytest.fixture(scope="module")
def image_set(stack: LocalStack) -> str:
    return import_image_set(stack, "CT_small.dcm")


def _request(stack: LocalStack, image_set: str, request_id: str, **fields: Any) -> dict[str, Any]:
    document = {"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientName": f"X^{request_id}"}}}
    return {
        "datastoreId": stack.datastore_id,
        "imageSetId": image_set,
        "requestId": request_id,
        "DICOMUpdates": {"updatableAttributes": document},
    } | fields


def _latest_version(stack: LocalStack, image_set: str) -> str:
    answer = stack.emulator.service.call(
        "GetImageSet", {"datastoreId": stack.datastore_id, "imageSetId": image_set}
    )
    return str(answer["versionId"])


def _ended_with(stack: LocalStack, request_id_part: str) -> list[str]:
    """Codes of the failure records whose requestId holds `request_id_part` (a refused sender's
    record is keyed by a key of its own that ends with what it sent)."""
    return [code for key, code in failure_codes(stack).items() if key.endswith(request_id_part)]


def test_a_forged_healthimaging_event_sent_to_the_caller_queue_is_not_believed(
    stack: LocalStack, image_set: str
) -> None:
    assert stack.topology is not None
    before = _latest_version(stack, image_set)
    forged = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Import Job Completed",
        "source": "aws.medical-imaging",
        "account": LOCAL_ACCOUNT_ID,
        "time": "2026-12-01T00:00:00Z",
        "region": LOCAL_REGION,
        "resources": [],
        "detail": {
            "imagingVersion": "1.0",
            "datastoreId": stack.datastore_id,
            "jobId": "f" * 32,
            "jobName": "forged",
            "jobStatus": "COMPLETED",
            "inputS3Uri": "s3://attacker-bucket/input/",
            "outputS3Uri": "s3://attacker-bucket/output/",
        },
    }
    stack.aws.sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=json.dumps(forged))
    stack.run_until_idle(60)
    assert "UNTRUSTED_SERVICE_EVENT" in failure_codes(stack).values()
    assert _latest_version(stack, image_set) == before


def test_an_event_of_another_account_is_not_believed_even_with_a_rule_stamp(
    stack: LocalStack, image_set: str
) -> None:
    assert stack.topology is not None
    before = _latest_version(stack, image_set)
    trusted_rules = stack.topology.function_of("rules").environment["TRUSTED_RULES"]
    elsewhere = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Image Set Updated",
        "source": "aws.medical-imaging",
        "account": "999999999999",
        "time": "2026-12-01T00:00:00Z",
        "region": LOCAL_REGION,
        "resources": [],
        "detail": {
            "imagingVersion": "1.0",
            "datastoreId": stack.datastore_id,
            "imageSetId": image_set,
            "imageSetVersion": before,
            "imageSetState": "ACTIVE",
            "imageSetWorkflowStatus": "UPDATED",
        },
    }
    body = rule_stamped(elsewhere, trusted_rules, "settles")
    stack.aws.sqs.send_message(QueueUrl=stack.topology.queue("rules").url, MessageBody=body)
    stack.run_until_idle(60)
    assert "UNTRUSTED_SERVICE_EVENT" in failure_codes(stack).values()
    assert _latest_version(stack, image_set) == before


def test_a_caller_outside_the_list_is_refused_and_nothing_is_applied(
    stack: LocalStack, image_set: str
) -> None:
    assert stack.topology is not None
    iam = stack.aws.iam
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(
            RoleName="stranger",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:root"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )
    stranger = caller_session(stack.moto.endpoint_url, f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/stranger")
    before = _latest_version(stack, image_set)
    sqs = stranger.client("sqs", endpoint_url=stack.moto.endpoint_url)
    body = json.dumps(_request(stack, image_set, "prov-stranger"))
    sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=body)
    stack.run_until_idle(60)
    assert _ended_with(stack, "prov-stranger") == ["CALLER_NOT_ALLOWED"]
    assert _latest_version(stack, image_set) == before


def test_a_caller_using_force_without_the_right_is_refused_and_nothing_is_applied(
    stack: LocalStack, image_set: str
) -> None:
    assert stack.topology is not None
    ris = caller_session(stack.moto.endpoint_url, RIS_ROLE)
    before = _latest_version(stack, image_set)
    sqs = ris.client("sqs", endpoint_url=stack.moto.endpoint_url)
    body = json.dumps(_request(stack, image_set, "prov-ris-force", force=True))
    sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=body)
    stack.run_until_idle(60)
    assert _ended_with(stack, "prov-ris-force") == ["OPERATION_NOT_ALLOWED"]
    assert _latest_version(stack, image_set) == before
    # The same caller without force may: it is known, only the right is missing.
    sqs.send_message(
        QueueUrl=stack.topology.queue("ingest").url,
        MessageBody=json.dumps(_request(stack, image_set, "prov-ris-plain")),
    )
    stack.run_until_idle(60)
    ended = {o["detail"]["requestId"]: o["detail"]["status"] for o in outcome_events(stack)}
    assert ended.get("prov-ris-plain") == "SUCCEEDED"


def test_an_allowed_update_leaves_exactly_one_audit_record_with_the_emulators_values(
    stack: LocalStack, image_set: str
) -> None:
    assert stack.topology is not None
    before_version = _latest_version(stack, image_set)
    old_name = read_metadata(stack, image_set, before_version)["Patient"]["DICOM"]["PatientName"]
    request = _request(
        stack,
        image_set,
        "prov-audited",
        requestedBy=REQUESTER,
        reason={"code": "CORRECT", "ticket": TICKET},
    )
    request["DICOMUpdates"]["updatableAttributes"]["Patient"]["DICOM"]["PatientName"] = VALUE
    stack.aws.sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=json.dumps(request))
    stack.run_until_idle(60)

    events = outcome_events(stack)
    assert [e["detail"]["status"] for e in events if e["detail"]["requestId"] == "prov-audited"] == [
        "SUCCEEDED"
    ]
    after_version = _latest_version(stack, image_set)
    assert after_version != before_version
    mine = [r for r in audit_records(stack) if r["requestId"] == "prov-audited"]
    assert len(mine) == 1
    (record,) = mine
    assert (record["kind"], record["status"]) == ("change", "SUCCEEDED")
    assert (record["fromVersionId"], record["toVersionId"]) == (before_version, after_version)
    emulator_after = read_metadata(stack, image_set, after_version)["Patient"]["DICOM"]["PatientName"]
    assert record["changes"] == [
        {"path": "Patient.PatientName", "before": old_name, "after": emulator_after, "removed": False}
    ]
    assert emulator_after == VALUE
    assert record["caller"]["name"] == "local-operator" and record["caller"]["requestedBy"] == REQUESTER
    assert (record["reasonCode"], record["reasonTicket"]) == ("CORRECT", TICKET)

    # The values, the ticket and the requester live in the audit record and nowhere else.
    logs = stack.function_logs()
    assert "prov-audited" in logs  # the logs were captured (the request id is logged by design)
    seen_elsewhere = json.dumps(events) + logs + json.dumps(_ledger(stack))
    for secret in ("MRKVALUE", "MRKTICKET", "MRKREQUESTER", str(old_name)):
        assert secret not in seen_elsewhere, secret


def _ledger(stack: LocalStack) -> list[dict[str, Any]]:
    assert stack.topology is not None
    return list(stack.aws.dynamodb.scan(TableName=stack.topology.table_name)["Items"])
