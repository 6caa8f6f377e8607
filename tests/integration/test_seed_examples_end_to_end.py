"""The seed document's seven examples, as requests on the real local stack, end to end.

SQS ingest queue (moto) -> local event source mapping -> the real handler -> boto3 over HTTP ->
the HealthImaging emulator; outcomes read back from the outcome bus (captured into a queue) and
metadata read back with GetImageSetMetadata.
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom.data import get_testdata_file

from local.healthimaging.client import medical_imaging_client
from local.healthimaging.profile import BehaviourProfile, SettleTime
from local.invoke import drain
from local.stack import LocalStack, LocalStackOptions

pytestmark = pytest.mark.integration
REQUESTS = Path(__file__).resolve().parents[2] / "events" / "requests"
PLACEHOLDER_DATASTORE = "12345678901234567890123456789012"
PLACEHOLDER_UID = "1.1.1.1.1.1.12345.123456789012.123.12345678901234.1"
SEED_SERIES_UID = "1.3.6.1.4.1.5962.99.1.3633258862.2104868982.1369432891697.3656.0"
SEED_INSTANCE_UID = "1.3.6.1.4.1.5962.99.1.3633258862.2104868982.1369432891697.3659.0"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = LocalStackOptions(
        name_prefix=f"seed{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=5,
        function_timeout_s=30,
        emulator_profile=BehaviourProfile(settle=SettleTime(median_seconds=0.05, p99_seconds=0.2)),
        # Pacing is proven in its own test; here the seven examples should not wait 4 s each.
        extra_environment={"UPDATE_RATE_PER_SECOND": "50", "UPDATE_BURST": "10"},
    )
    with LocalStack(options) as running:
        yield running


@pytest.fixture(scope="module")
def image_sets(stack: LocalStack) -> dict[str, str]:
    ct, mr = (str(get_testdata_file(name)) for name in ("CT_small.dcm", "MR_small.dcm"))
    (ct_id,) = stack.emulator.service.import_dicom_files(stack.datastore_id, [ct])
    (mr_id,) = stack.emulator.service.import_dicom_files(stack.datastore_id, [mr])
    return {"ct": ct_id, "mr": mr_id}


def metadata(stack: LocalStack, image_set_id: str, version: str | None = None) -> dict[str, Any]:
    client = medical_imaging_client(stack.emulator.endpoint_url)
    params = {"datastoreId": stack.datastore_id, "imageSetId": image_set_id}
    if version:
        params["versionId"] = version
    blob = client.get_image_set_metadata(**params)["imageSetMetadataBlob"].read()
    return json.loads(gzip.decompress(blob))  # type: ignore[no-any-return]


def only_instance(document: dict[str, Any]) -> tuple[str, str]:
    ((series_uid, series),) = document["Study"]["Series"].items()
    return series_uid, next(iter(series["Instances"]))


def request_from_sample(name: str, stack: LocalStack, image_set_id: str, request_id: str) -> str:
    """The sample file with its placeholder ids replaced by the imported image set's real ones."""
    text = (REQUESTS / name).read_text()
    series_uid, instance_uid = only_instance(metadata(stack, image_set_id))
    text = text.replace(PLACEHOLDER_DATASTORE, stack.datastore_id)
    text = text.replace(PLACEHOLDER_UID, series_uid, 1).replace(PLACEHOLDER_UID, instance_uid, 1)
    text = text.replace(SEED_SERIES_UID, series_uid).replace(SEED_INSTANCE_UID, instance_uid)
    document = json.loads(text)
    document["imageSetId"] = image_set_id
    document["requestId"] = request_id
    return json.dumps(document)


def submit(stack: LocalStack, body: str) -> dict[str, Any]:
    """Send one request, let the pollers run the handler, return its outcome event's detail."""
    assert stack.topology is not None
    stack.aws.sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=body)
    stack.run_until_idle(60)
    request_id = json.loads(body)["requestId"]
    events = drain(stack.aws, stack.topology.queue("outcome_capture").url)
    mine = [e for e in events if e["detail"].get("requestId") == request_id]
    assert len(mine) == 1, f"expected exactly one outcome for {request_id}, got {len(mine)}"
    return mine[0]["detail"]  # type: ignore[no-any-return]


def test_example_1_updates_the_patient_name(stack: LocalStack, image_sets: dict[str, str]) -> None:
    body = request_from_sample("01-update-patient-name.json", stack, image_sets["ct"], "seed-1")
    outcome = submit(stack, body)
    assert outcome["status"] == "SUCCEEDED", outcome
    assert (outcome["fromVersionId"], outcome["toVersionId"]) == ("1", "2")
    assert outcome["changed"] == {"Patient": ["PatientName"]}
    assert metadata(stack, image_sets["ct"])["Patient"]["DICOM"]["PatientName"] == "MX^MX"


def test_example_2_removes_the_study_description(stack: LocalStack, image_sets: dict[str, str]) -> None:
    set_chest = {
        "datastoreId": stack.datastore_id,
        "imageSetId": image_sets["mr"],
        "requestId": "seed-2-prepare",
        "DICOMUpdates": {
            "updatableAttributes": {"SchemaVersion": 1.1, "Study": {"DICOM": {"StudyDescription": "CHEST"}}}
        },
    }
    assert submit(stack, json.dumps(set_chest))["status"] == "SUCCEEDED"
    outcome = submit(
        stack, request_from_sample("02-remove-study-description.json", stack, image_sets["mr"], "seed-2")
    )
    assert outcome["status"] == "SUCCEEDED", outcome
    assert outcome["removed"] == {"Study": ["StudyDescription"]}
    assert "StudyDescription" not in metadata(stack, image_sets["mr"])["Study"]["DICOM"]


def test_examples_5_6_7_private_tags_and_forced_uid_change(
    stack: LocalStack, image_sets: dict[str, str]
) -> None:
    ct = image_sets["ct"]
    for sample, request_id in (
        ("05-add-private-tag.json", "seed-5"),
        ("06-update-private-tag.json", "seed-6"),
    ):
        outcome = submit(stack, request_from_sample(sample, stack, ct, request_id))
        assert outcome["status"] == "SUCCEEDED", outcome
        assert outcome["forced"] is True
    series_uid, instance_uid = only_instance(metadata(stack, ct))
    instance = metadata(stack, ct)["Study"]["Series"][series_uid]["Instances"][instance_uid]
    assert instance["DICOM"]["00091001"] == "GE_GENESIS_DD"
    assert instance["DICOMVRs"]["001910F9"] == "DS"
    outcome = submit(stack, request_from_sample("07-update-sop-instance-uid.json", stack, ct, "seed-7"))
    assert outcome["status"] == "SUCCEEDED", outcome
    new_series = metadata(stack, ct)["Study"]["Series"][series_uid]
    assert list(new_series["Instances"]) == [
        "1.3.6.1.4.1.5962.99.1.3633258862.2104868982.1369432891697.3659.9"
    ]


def test_example_3_removes_an_instance(stack: LocalStack) -> None:
    (image_set,) = stack.emulator.service.import_dicom_files(
        stack.datastore_id, [str(get_testdata_file("MR_small.dcm"))]
    )
    outcome = submit(stack, request_from_sample("03-remove-instance.json", stack, image_set, "seed-3"))
    assert outcome["status"] == "SUCCEEDED", outcome
    series_uid, _ = only_instance(metadata(stack, image_set, "1"))
    assert metadata(stack, image_set)["Study"]["Series"][series_uid]["Instances"] == {}


def test_example_4_reverts_to_version_1_exactly(stack: LocalStack, image_sets: dict[str, str]) -> None:
    ct = image_sets["ct"]
    original = metadata(stack, ct, "1")
    outcome = submit(stack, request_from_sample("04-revert-to-version-1.json", stack, ct, "seed-4"))
    assert outcome["status"] == "SUCCEEDED", outcome
    assert outcome["revertToVersionId"] == "1"
    reverted = metadata(stack, ct)
    assert reverted["Patient"] == original["Patient"] and reverted["Study"] == original["Study"]


def test_redelivered_request_returns_its_outcome_without_a_new_version(
    stack: LocalStack, image_sets: dict[str, str]
) -> None:
    body = json.dumps(
        {
            "datastoreId": stack.datastore_id,
            "imageSetId": image_sets["mr"],
            "requestId": "redelivered",
            "DICOMUpdates": {
                "updatableAttributes": {
                    "SchemaVersion": 1.1,
                    "Patient": {"DICOM": {"PatientName": "DOE^JANE"}},
                }
            },
        }
    )
    first = submit(stack, body)
    versions = len(stack.emulator.service.version_history(stack.datastore_id, image_sets["mr"]))
    assert stack.topology is not None
    stack.aws.sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=body)
    stack.run_until_idle(60)
    assert drain(stack.aws, stack.topology.queue("outcome_capture").url) == []  # no second outcome
    assert len(stack.emulator.service.version_history(stack.datastore_id, image_sets["mr"])) == versions
    assert first["status"] == "SUCCEEDED"


def test_same_values_again_is_a_noop(stack: LocalStack, image_sets: dict[str, str]) -> None:
    body = {
        "datastoreId": stack.datastore_id,
        "imageSetId": image_sets["mr"],
        "requestId": "noop-check",
        "DICOMUpdates": {
            "updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientName": "DOE^JANE"}}}
        },
    }
    outcome = submit(stack, json.dumps(body))
    assert outcome["status"] == "SUCCEEDED" and outcome["noop"] is True
    assert outcome["fromVersionId"] == outcome["toVersionId"]
