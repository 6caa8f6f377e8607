"""Import Job Completed → the stack's rule → the updater → rules applied to the new image sets.

The emulator imports pydicom's sample files from moto's S3, writes the job's manifests there and
publishes the real `Import Job Completed` event to moto's default bus; the rule synthesized from the
CDK app delivers it to the ingest queue; the real handler reads the manifests, applies the dev stage's
rules file (config/import-rules/dev.json) and fans the requests out through the same queue.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from local.healthimaging.profile import BehaviourProfile, SettleTime
from local.moto_stack import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.scenario import import_job_from_s3, outcome_events, read_metadata
from local.sqs_lambda_event import rule_stamped
from local.stack import LocalStack, LocalStackOptions
from local.stack_template import REPO_ROOT
from updater.domain.redaction import shown_file_name

pytestmark = pytest.mark.integration
SAMPLES = ("CT_small.dcm", "MR_small.dcm")


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = LocalStackOptions(
        name_prefix=f"imp{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=5,
        function_timeout_s=30,
        emulator_profile=BehaviourProfile(settle=SettleTime(median_seconds=0.05, p99_seconds=0.2)),
        extra_environment={"UPDATE_RATE_PER_SECOND": "50", "UPDATE_BURST": "10"},
    )
    with LocalStack(options) as running:
        yield running


def versions(stack: LocalStack, image_set_id: str) -> int:
    return len(stack.emulator.service.version_history(stack.datastore_id, image_set_id))


def test_import_completed_applies_the_stage_rules_once(stack: LocalStack) -> None:
    assert stack.topology is not None
    job = import_job_from_s3(stack, "run1", SAMPLES, broken=1)
    assert job["jobStatus"] == "COMPLETED"
    stack.run_until_idle(90)
    image_sets = stack.emulator.service.image_set_ids(stack.datastore_id)
    assert len(image_sets) == len(SAMPLES)
    for image_set in image_sets:
        document = read_metadata(stack, image_set)
        ((_, series),) = document["Study"]["Series"].items()
        assert series["DICOM"]["InstitutionName"] == "EXAMPLE GENERAL HOSPITAL"
        name = document["Patient"]["DICOM"]["PatientName"]
        assert name == name.upper() and name == name.strip()
    events = outcome_events(stack)
    summaries = [e["detail"] for e in events if e["detail-type"] == "ImportJob.Reacted"]
    assert len(summaries) == 1
    assert summaries[0]["imageSetsSeen"] == len(SAMPLES)
    # A name with words in it ("broken") could be a patient's: listed by fingerprint.
    assert summaries[0]["failedFiles"] == 1
    assert summaries[0]["failedFileNames"] == [shown_file_name("input/run1/broken-0.dcm")]
    assert summaries[0]["failedFileNames"][0].startswith("file:sha256:")
    updates = [e["detail"] for e in events if e["detail-type"].startswith("ImageSetMetadataUpdate.")]
    assert updates and {u["status"] for u in updates} == {"SUCCEEDED"}
    assert all(u["requestId"].startswith("import-") for u in updates)

    # Replaying the same event (EventBridge delivers at least once) creates no new version.
    before = {image_set: versions(stack, image_set) for image_set in image_sets}
    completed = [
        e
        for e in stack.emulator.service.published_events("Import Job Completed")
        if e.detail["jobId"] == job["jobId"]
    ]
    assert len(completed) == 1
    event = completed[0]
    envelope = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": event.detail_type,
        "source": "aws.medical-imaging",
        "account": "123456789012",
        "time": "2026-11-25T00:00:00Z",
        "region": "us-east-1",
        "resources": event.resources,
        "detail": event.detail,
    }
    trusted_rules = stack.topology.function_of("rules").environment["TRUSTED_RULES"]
    stamped = rule_stamped(envelope, trusted_rules, "imports")
    stack.aws.sqs.send_message(QueueUrl=stack.topology.queue("rules").url, MessageBody=stamped)
    stack.run_until_idle(60)
    assert {image_set: versions(stack, image_set) for image_set in image_sets} == before


def test_an_import_whose_output_never_appears_ends_in_a_failure_event_and_a_failure_record(
    stack: LocalStack,
) -> None:
    """Intake fails the record while deliveries remain; once SQS moved it to the ingest DLQ, the
    finalizer ends it: one failure event and one failure record, with the reason."""
    assert stack.topology is not None
    outcome_events(stack)  # start from an empty capture queue
    event = json.loads((REPO_ROOT / "events" / "sqs" / "import-job-completed.json").read_text())
    record = event["Records"][0]
    envelope = json.loads(record["body"]) | {"account": LOCAL_ACCOUNT_ID, "region": LOCAL_REGION}
    envelope["detail"].update(
        {"datastoreId": stack.datastore_id, "outputS3Uri": "s3://never-written-bucket/out/"}
    )
    # As the stage's imports rule delivers it: stamped, on the rules queue.
    trusted_rules = stack.topology.function_of("rules").environment["TRUSTED_RULES"]
    record["body"] = rule_stamped(envelope, trusted_rules, "imports")
    record["eventSourceARN"] = stack.topology.queue("rules").arn
    first = stack.invoke(stack.topology.function_of("rules"), event)
    assert first.response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert outcome_events(stack) == []
    # SQS moved it to the redrive DLQ after maxReceiveCount deliveries: the finalizer's turn.
    record["eventSourceARN"] = stack.topology.queue("rules_dlq").arn
    assert stack.invoke(stack.topology.function_of("rules_dlq"), event).response == {"batchItemFailures": []}
    failures = [e["detail"] for e in outcome_events(stack) if e["detail-type"] == "ImportJob.ReactionFailed"]
    assert [(f["jobId"], f["errorCode"]) for f in failures] == [
        (envelope["detail"]["jobId"], "IMPORT_OUTPUT_UNREADABLE")
    ]
    recorded = stack.aws.sqs.receive_message(
        QueueUrl=stack.topology.queue("failures").url, MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]
    codes = [m["MessageAttributes"]["failureCode"]["StringValue"] for m in recorded]
    assert codes == ["IMPORT_OUTPUT_UNREADABLE"]
