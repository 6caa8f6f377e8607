"""Import Job Completed → the stack's rule → the updater → rules applied to the new image sets.

The emulator imports pydicom's sample files from moto's S3, writes the job's manifests there and
publishes the real `Import Job Completed` event to moto's default bus; the rule synthesized from the
CDK app delivers it to the ingest queue; the real handler reads the manifests, applies the dev stage's
rules file (config/import-rules/dev.json) and fans the requests out through the same queue.
"""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydicom.data import get_testdata_file

from local.healthimaging.client import medical_imaging_client
from local.healthimaging.profile import BehaviourProfile, SettleTime
from local.invoke import drain
from local.stack import LocalStack, LocalStackOptions

pytestmark = pytest.mark.integration
BUCKET = "healthimaging-test-bucket"  # the dev stage's import prefixes (cdk.json)
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


def import_samples(stack: LocalStack, prefix: str) -> dict[str, Any]:
    s3 = stack.moto.client("s3")
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    for name in SAMPLES:
        with open(str(get_testdata_file(name)), "rb") as handle:
            s3.put_object(Bucket=BUCKET, Key=f"input/{prefix}/{name}", Body=handle.read())
    s3.put_object(Bucket=BUCKET, Key=f"input/{prefix}/broken.dcm", Body=b"not dicom")
    client = medical_imaging_client(stack.emulator.endpoint_url)
    job = client.start_dicom_import_job(
        datastoreId=stack.datastore_id,
        jobName=f"import-{prefix}",
        dataAccessRoleArn="arn:aws:iam::123456789012:role/ImportRole",
        inputS3Uri=f"s3://{BUCKET}/input/{prefix}/",
        outputS3Uri=f"s3://{BUCKET}/output/{prefix}/",
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = client.get_dicom_import_job(datastoreId=stack.datastore_id, jobId=job["jobId"])
        if status["jobProperties"]["jobStatus"] in ("COMPLETED", "FAILED"):
            return dict(status["jobProperties"])
        time.sleep(0.1)
    raise AssertionError("import job did not complete")


def metadata(stack: LocalStack, image_set_id: str) -> dict[str, Any]:
    client = medical_imaging_client(stack.emulator.endpoint_url)
    blob = client.get_image_set_metadata(datastoreId=stack.datastore_id, imageSetId=image_set_id)
    return json.loads(gzip.decompress(blob["imageSetMetadataBlob"].read()))  # type: ignore[no-any-return]


def versions(stack: LocalStack, image_set_id: str) -> int:
    return len(stack.emulator.service.version_history(stack.datastore_id, image_set_id))


def test_import_completed_applies_the_stage_rules_once(stack: LocalStack) -> None:
    assert stack.topology is not None
    job = import_samples(stack, "run1")
    assert job["jobStatus"] == "COMPLETED"
    stack.run_until_idle(90)
    image_sets = stack.emulator.service.image_set_ids(stack.datastore_id)
    assert len(image_sets) == len(SAMPLES)
    for image_set in image_sets:
        document = metadata(stack, image_set)
        ((_, series),) = document["Study"]["Series"].items()
        assert series["DICOM"]["InstitutionName"] == "EXAMPLE GENERAL HOSPITAL"
        name = document["Patient"]["DICOM"]["PatientName"]
        assert name == name.upper() and name == name.strip()
    events = drain(stack.aws, stack.topology.queue("outcome_capture").url)
    summaries = [e["detail"] for e in events if e["detail-type"] == "ImportJob.Reacted"]
    assert len(summaries) == 1
    assert summaries[0]["imageSetsSeen"] == len(SAMPLES)
    assert summaries[0]["failedFiles"] == 1 and summaries[0]["failedFileNames"] == ["input/run1/broken.dcm"]
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
    stack.aws.sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=json.dumps(envelope))
    stack.run_until_idle(60)
    assert {image_set: versions(stack, image_set) for image_set in image_sets} == before
