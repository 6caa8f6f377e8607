"""The seed document's seven examples, as requests on the real local stack, end to end.

SQS ingest queue (moto) -> local event source mapping -> the real handler -> boto3 over HTTP ->
the HealthImaging emulator; outcomes read back from the outcome bus (captured into a queue) and
metadata read back with GetImageSetMetadata.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from local.healthimaging.profile import BehaviourProfile, SettleTime
from local.invoke import drain
from local.scenario import import_image_set, only_instance, sample_request, submit_and_wait
from local.scenario import read_metadata as metadata
from local.stack import LocalStack, LocalStackOptions

pytestmark = pytest.mark.integration


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
    return {"ct": import_image_set(stack, "CT_small.dcm"), "mr": import_image_set(stack, "MR_small.dcm")}


def test_example_1_updates_the_patient_name(stack: LocalStack, image_sets: dict[str, str]) -> None:
    body = sample_request(stack, "01-update-patient-name.json", image_sets["ct"], "seed-1")
    outcome = submit_and_wait(stack, body)
    assert outcome["status"] == "SUCCEEDED", outcome
    assert (outcome["fromVersionId"], outcome["toVersionId"]) == ("1", "2")
    assert outcome["changed"] == {"Patient": ["PatientName"]}
    assert metadata(stack, image_sets["ct"])["Patient"]["DICOM"]["PatientName"] == "MX^MX"


def test_example_2_removes_the_study_description(stack: LocalStack, image_sets: dict[str, str]) -> None:
    # A removal names the current value: CT_small.dcm's (the seed's CHEST belonged to its own image set).
    assert metadata(stack, image_sets["ct"])["Study"]["DICOM"]["StudyDescription"] == "e+1"
    outcome = submit_and_wait(
        stack, sample_request(stack, "02-remove-study-description.json", image_sets["ct"], "seed-2")
    )
    assert outcome["status"] == "SUCCEEDED", outcome
    assert outcome["removed"] == {"Study": ["StudyDescription"]}
    assert "StudyDescription" not in metadata(stack, image_sets["ct"])["Study"]["DICOM"]


def test_examples_5_6_7_private_tags_and_forced_uid_change(
    stack: LocalStack, image_sets: dict[str, str]
) -> None:
    ct = image_sets["ct"]
    for sample, request_id in (
        ("05-add-private-tag.json", "seed-5"),
        ("06-update-private-tag.json", "seed-6"),
    ):
        outcome = submit_and_wait(stack, sample_request(stack, sample, ct, request_id))
        assert outcome["status"] == "SUCCEEDED", outcome
        assert outcome["forced"] is True
    series_uid, instance_uid = only_instance(metadata(stack, ct))
    instance = metadata(stack, ct)["Study"]["Series"][series_uid]["Instances"][instance_uid]
    assert instance["DICOM"]["00091001"] == "GE_GENESIS_DD"
    assert instance["DICOMVRs"]["001910F9"] == "DS"
    outcome = submit_and_wait(stack, sample_request(stack, "07-update-sop-instance-uid.json", ct, "seed-7"))
    assert outcome["status"] == "SUCCEEDED", outcome
    new_series = metadata(stack, ct)["Study"]["Series"][series_uid]
    assert list(new_series["Instances"]) == [
        "1.3.6.1.4.1.5962.99.1.3633258862.2104868982.1369432891697.3659.9"
    ]


def test_example_3_removes_an_instance(stack: LocalStack) -> None:
    image_set = import_image_set(stack, "MR_small.dcm")
    outcome = submit_and_wait(stack, sample_request(stack, "03-remove-instance.json", image_set, "seed-3"))
    assert outcome["status"] == "SUCCEEDED", outcome
    series_uid, _ = only_instance(metadata(stack, image_set, "1"))
    assert metadata(stack, image_set)["Study"]["Series"][series_uid]["Instances"] == {}


def test_example_4_reverts_to_version_1_exactly(stack: LocalStack, image_sets: dict[str, str]) -> None:
    ct = image_sets["ct"]
    original = metadata(stack, ct, "1")
    outcome = submit_and_wait(stack, sample_request(stack, "04-revert-to-version-1.json", ct, "seed-4"))
    assert outcome["status"] == "SUCCEEDED", outcome
    assert outcome["revertToVersionId"] == "1"
    reverted = metadata(stack, ct)
    assert reverted["Patient"] == original["Patient"] and reverted["Study"] == original["Study"]


def test_redelivered_request_returns_its_outcome_without_a_new_version(
    stack: LocalStack, image_sets: dict[str, str]
) -> None:
    body = {
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
    first = submit_and_wait(stack, body)
    versions = len(stack.emulator.service.version_history(stack.datastore_id, image_sets["mr"]))
    assert stack.topology is not None
    stack.aws.sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=json.dumps(body))
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
    outcome = submit_and_wait(stack, body)
    assert outcome["status"] == "SUCCEEDED" and outcome["noop"] is True
    assert outcome["fromVersionId"] == outcome["toVersionId"]
