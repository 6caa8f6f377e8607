"""Importing data that is already stored: identical data is ignored, changed instances make a new
version of the primary image set, conflicting hierarchy elements make a non-primary image set."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pydicom
import pytest

from local.healthimaging import BehaviourProfile, EmulatorServer, HealthImagingService, medical_imaging_client
from tests.local.healthimaging.contract import ContractRecorder
from tests.local.healthimaging.dicom_files import shipped
from tests.local.healthimaging.test_dicom_import import ROLE_ARN, wait_for_job


def altered(tmp_path: Path, name: str, **attributes: Any) -> str:
    dataset = pydicom.dcmread(shipped("CT_small.dcm"))
    for keyword, value in attributes.items():
        setattr(dataset, keyword, value)
    path = tmp_path / name
    dataset.save_as(path)
    return str(path)


def primary_and_versions(
    service: HealthImagingService, datastore_id: str, image_set_id: str
) -> tuple[bool, list[str]]:
    shown = service.call("GetImageSet", {"datastoreId": datastore_id, "imageSetId": image_set_id})
    history = service.version_history(datastore_id, image_set_id)
    return shown["isPrimary"], [f"{v.version_id}:{v.workflow_status}" for v in history]


def test_identical_data_is_ignored(service: HealthImagingService, datastore_id: str) -> None:
    path = str(shipped("CT_small.dcm"))
    [first] = service.import_dicom_files(datastore_id, [path], reidentify=False)
    [again] = service.import_dicom_files(datastore_id, [path], reidentify=False)

    assert again == first
    assert service.image_set_ids(datastore_id) == [first]
    assert primary_and_versions(service, datastore_id, first) == (True, ["1:CREATED"])


def test_a_changed_or_new_instance_makes_a_new_version_of_the_primary(
    service: HealthImagingService, datastore_id: str, tmp_path: Path
) -> None:
    [primary] = service.import_dicom_files(datastore_id, [str(shipped("CT_small.dcm"))], reidentify=False)
    changed = altered(tmp_path, "changed.dcm", ImageComments="rescanned")
    added = altered(tmp_path, "added.dcm", SOPInstanceUID="1.2.826.0.1.3680043.8.498.77")

    assert service.import_dicom_files(datastore_id, [changed], reidentify=False) == [primary]
    assert service.import_dicom_files(datastore_id, [added], reidentify=False) == [primary]

    assert primary_and_versions(service, datastore_id, primary) == (
        True,
        ["1:CREATED", "2:IMPORTED", "3:IMPORTED"],
    )
    series = next(iter(service.current_metadata(datastore_id, primary)["Study"]["Series"].values()))
    assert len(series["Instances"]) == 2
    source = pydicom.dcmread(shipped("CT_small.dcm"))
    assert series["Instances"][source.SOPInstanceUID]["DICOM"]["ImageComments"] == "rescanned"


@pytest.mark.parametrize(
    "conflict",
    [{"PatientID": "OTHER"}, {"AccessionNumber": "A-9"}, {"SeriesNumber": "99"}, {"StudyDate": "19990101"}],
)
def test_data_conflicting_with_the_primary_becomes_a_non_primary_image_set(
    service: HealthImagingService, datastore_id: str, tmp_path: Path, conflict: dict[str, str]
) -> None:
    [primary] = service.import_dicom_files(datastore_id, [str(shipped("CT_small.dcm"))], reidentify=False)

    [other] = service.import_dicom_files(
        datastore_id, [altered(tmp_path, "conflict.dcm", **conflict)], reidentify=False
    )

    assert other != primary
    assert primary_and_versions(service, datastore_id, other) == (False, ["1:CREATED"])
    assert primary_and_versions(service, datastore_id, primary) == (True, ["1:CREATED"])


def test_an_import_job_reports_the_matched_primary_in_its_manifest(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(shipped("CT_small.dcm"), inputs / "ct.dcm")
    with EmulatorServer(profile=BehaviourProfile.fast()) as emulator:
        client = medical_imaging_client(emulator.endpoint_url)
        datastore_id = client.create_datastore(datastoreName="reimport", clientToken="c")["datastoreId"]
        summaries = []
        for run in ("one", "two"):
            job_id = client.start_dicom_import_job(
                datastoreId=datastore_id, dataAccessRoleArn=ROLE_ARN, clientToken=run,
                inputS3Uri=f"file://{inputs}/", outputS3Uri=f"file://{tmp_path}/{run}/",
            )["jobId"]  # fmt: skip
            assert wait_for_job(client, datastore_id, job_id)["jobStatus"] == "COMPLETED"
            manifest = tmp_path / run / f"{datastore_id}-DicomImport-{job_id}" / "job-output-manifest.json"
            summaries.append(json.loads(manifest.read_text())["jobSummary"]["imageSetsSummary"])
        listed = client.search_image_sets(datastoreId=datastore_id)["imageSetsMetadataSummaries"]

    assert summaries[0] == summaries[1]
    assert [(s["imageSetVersion"], s["isPrimary"]) for s in summaries[0]] == [(1, True)]
    assert [s["imageSetId"] for s in listed] == [summaries[0][0]["imageSetId"]]


def test_the_import_configuration_given_is_returned(client: Any, tmp_path: Path) -> None:
    recorder = ContractRecorder(client)
    (tmp_path / "in").mkdir()
    configuration = {
        "dicomJsonMetadataImportConfiguration": {
            "dicomMetadataMappings": [{"studyInstanceUID": "1.2.3", "metadataFilePath": "study.json"}]
        }
    }
    datastore_id = client.create_datastore(datastoreName="configured", clientToken="c")["datastoreId"]
    job_id = client.start_dicom_import_job(
        datastoreId=datastore_id, dataAccessRoleArn=ROLE_ARN, clientToken="c",
        importConfiguration=configuration,
        inputS3Uri=f"file://{tmp_path}/in/", outputS3Uri=f"file://{tmp_path}/out/",
    )["jobId"]  # fmt: skip

    assert wait_for_job(client, datastore_id, job_id)["importConfiguration"] == configuration
    assert client.list_dicom_import_jobs(datastoreId=datastore_id)["jobSummaries"][0]["jobId"] == job_id
    assert recorder.problems == []
