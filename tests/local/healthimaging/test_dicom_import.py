"""Imports: pydicom files to image sets and metadata documents, manifests, S3 and EventBridge on moto."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pydicom
import pytest

from local.healthimaging import BehaviourProfile, EmulatorServer, HealthImagingService, medical_imaging_client
from local.moto_stack import MotoServer
from tests.local.healthimaging.dicom_files import shipped

ROLE_ARN = "arn:aws:iam::123456789012:role/ImportRole"


def test_metadata_document_puts_attributes_at_their_levels(
    service: HealthImagingService, datastore_id: str
) -> None:
    source = pydicom.dcmread(shipped("CT_small.dcm"))
    [image_set_id] = service.import_dicom_files(
        datastore_id, [str(shipped("CT_small.dcm"))], reidentify=False
    )
    document = service.current_metadata(datastore_id, image_set_id)

    series = document["Study"]["Series"][source.SeriesInstanceUID]
    instance = series["Instances"][source.SOPInstanceUID]
    assert (document["SchemaVersion"], document["DatastoreID"], document["ImageSetID"]) == (
        "1.1", datastore_id, image_set_id,
    )  # fmt: skip
    assert document["Patient"]["DICOM"]["PatientID"] == source.PatientID
    assert document["Study"]["DICOM"]["StudyInstanceUID"] == source.StudyInstanceUID
    assert series["DICOM"]["Modality"] == "CT"
    assert instance["DICOM"]["SOPClassUID"] == source.SOPClassUID
    assert instance["DICOM"]["PixelData"] is None
    assert instance["DICOMVRs"]["00091001"] == source[0x00091001].VR
    assert document["Patient"]["DICOM"]["PatientBirthDate"] is None  # empty in the file
    assert instance["StoredTransferSyntaxUID"] == "1.2.840.10008.1.2.4.202"  # transcoded to HTJ2K
    [frame] = instance["ImageFrames"]
    assert (frame["MinPixelValue"], frame["MaxPixelValue"]) == (
        source.pixel_array.min(),
        source.pixel_array.max(),
    )
    assert frame["PixelDataChecksumFromBaseToFullResolution"][-1]["Width"] == source.Columns


def test_one_image_set_per_series(service: HealthImagingService, datastore_id: str) -> None:
    paths = [str(shipped(n)) for n in ("CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm")]

    image_set_ids = service.import_dicom_files(datastore_id, paths)

    assert len(set(image_set_ids)) == 3
    assert [v.workflow_status for v in service.version_history(datastore_id, image_set_ids[0])] == ["CREATED"]


def wait_for_job(client: Any, datastore_id: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get_dicom_import_job(datastoreId=datastore_id, jobId=job_id)[
            "jobProperties"
        ]
        if job["jobStatus"] in ("COMPLETED", "FAILED"):
            return job
        time.sleep(0.05)
    raise AssertionError("import job did not finish")


def test_file_import_writes_manifests_and_reports_bad_files(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(shipped("CT_small.dcm"), inputs / "ct.dcm")
    shutil.copy(shipped("MR_small.dcm"), inputs / "mr.dcm")
    (inputs / "notes.txt").write_text("not dicom")
    with EmulatorServer(profile=BehaviourProfile.fast()) as emulator:
        client = medical_imaging_client(emulator.endpoint_url)
        datastore_id = client.create_datastore(datastoreName="imports", clientToken="c")["datastoreId"]
        job_id = client.start_dicom_import_job(
            datastoreId=datastore_id, dataAccessRoleArn=ROLE_ARN, clientToken="c",
            inputS3Uri=f"file://{inputs}/", outputS3Uri=f"file://{tmp_path}/out/",
        )["jobId"]  # fmt: skip
        job = wait_for_job(client, datastore_id, job_id)

    output = tmp_path / "out" / f"{datastore_id}-DicomImport-{job_id}"
    summary = json.loads((output / "job-output-manifest.json").read_text())["jobSummary"]
    successes = [
        json.loads(line) for line in (output / "SUCCESS" / "success.ndjson").read_text().splitlines()
    ]
    failures = [json.loads(line) for line in (output / "FAILURE" / "failure.ndjson").read_text().splitlines()]
    assert job["jobStatus"] == "COMPLETED"
    assert (summary["numberOfScannedFiles"], summary["numberOfImportedFiles"]) == (3, 2)
    assert (summary["numberOfFilesWithCustomerError"], summary["numberOfGeneratedImageSets"]) == (1, 2)
    assert sorted(s["inputFile"] for s in successes) == ["ct.dcm", "mr.dcm"]
    assert {s["importResponse"]["imageSetId"] for s in successes} == {
        i["imageSetId"] for i in summary["imageSetsSummary"]
    }
    assert [(f["inputFile"], f["exception"]["exceptionType"]) for f in failures] == [
        ("notes.txt", "ValidationException")
    ]


def test_direct_imports_of_one_file_give_new_primary_image_sets_of_the_same_study(
    service: HealthImagingService, datastore_id: str
) -> None:
    path = str(shipped("MR_small.dcm"))
    [first] = service.import_dicom_files(datastore_id, [path])
    [second] = service.import_dicom_files(datastore_id, [path])

    documents = [service.current_metadata(datastore_id, i) for i in (first, second)]
    shown = [
        service.call("GetImageSet", {"datastoreId": datastore_id, "imageSetId": i}) for i in (first, second)
    ]
    assert first != second and [s["isPrimary"] for s in shown] == [True, True]
    assert len({d["Study"]["DICOM"]["StudyInstanceUID"] for d in documents}) == 1
    assert len({next(iter(d["Study"]["Series"])) for d in documents}) == 2


@pytest.fixture
def event_queue(moto_server: MotoServer) -> tuple[Any, str]:
    sqs, events = moto_server.client("sqs"), moto_server.client("events")
    queue_url = sqs.create_queue(QueueName="emulator-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bus = "emulator-bus"
    events.create_event_bus(Name=bus)
    events.put_rule(
        Name="healthimaging", EventBusName=bus, EventPattern=json.dumps({"source": ["aws.medical-imaging"]})
    )
    events.put_targets(Rule="healthimaging", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return sqs, queue_url


def received_events(sqs: Any, queue_url: str, until_detail_type: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and until_detail_type not in [e["detail-type"] for e in events]:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        events += [json.loads(m["Body"]) for m in messages]
    return events


def test_s3_import_publishes_events_and_writes_manifests_to_s3(
    moto_server: MotoServer, event_queue: tuple[Any, str], tmp_path: Path
) -> None:
    sqs, queue_url = event_queue
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket="dicom-in")
    s3.put_object(Bucket="dicom-in", Key="input/ct.dcm", Body=shipped("CT_small.dcm").read_bytes())
    with EmulatorServer(
        profile=BehaviourProfile.fast(), s3_endpoint_url=moto_server.endpoint_url,
        eventbridge_endpoint_url=moto_server.endpoint_url, event_bus_name="emulator-bus",
    ) as emulator:  # fmt: skip
        client = medical_imaging_client(emulator.endpoint_url)
        datastore_id = client.create_datastore(datastoreName="s3", clientToken="c")["datastoreId"]
        job_id = client.start_dicom_import_job(
            datastoreId=datastore_id, dataAccessRoleArn=ROLE_ARN, clientToken="c",
            inputS3Uri="s3://dicom-in/input/", outputS3Uri="s3://dicom-in/output/",
        )["jobId"]  # fmt: skip
        assert wait_for_job(client, datastore_id, job_id)["jobStatus"] == "COMPLETED"
        events = received_events(sqs, queue_url, "Import Job Completed")

    key = f"output/{datastore_id}-DicomImport-{job_id}/job-output-manifest.json"
    summary = json.loads(s3.get_object(Bucket="dicom-in", Key=key)["Body"].read())["jobSummary"]
    [created] = summary["imageSetsSummary"]
    assert [e["detail-type"] for e in events if e["detail-type"].startswith("Import Job")] == [
        "Import Job Submitted", "Import Job In Progress", "Import Job Completed",
    ]  # fmt: skip
    assert all(e["source"] == "aws.medical-imaging" for e in events)
    [image_set_created] = [e for e in events if e["detail-type"] == "Image Set Created"]
    assert image_set_created["detail"]["imageSetId"] == created["imageSetId"]
    [completed] = [e["detail"] for e in events if e["detail-type"] == "Import Job Completed"]
    assert (completed["jobId"], completed["jobStatus"], completed["datastoreId"]) == (
        job_id,
        "COMPLETED",
        datastore_id,
    )
