"""Every operation through a real boto3 client over HTTP; responses checked against botocore's model."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydicom.data import get_testdata_file

from local.healthimaging import EmulatorServer
from local.healthimaging.client import local_aws_client
from tests.local.healthimaging.contract import ContractRecorder
from tests.local.healthimaging.documents import SERIES_UID, metadata_document, update_blob

ROLE_ARN = "arn:aws:iam::123456789012:role/ImportRole"
OVER_TEN_KB = update_blob(Patient={"DICOM": {"PatientComments": "x" * 11000}})


@pytest.fixture
def recorder(client: Any) -> Iterator[ContractRecorder]:
    recorder = ContractRecorder(client)
    yield recorder
    assert recorder.problems == []


@pytest.fixture
def datastore_id(client: Any) -> str:
    return str(client.create_datastore(datastoreName="contract", clientToken="token-1")["datastoreId"])


@pytest.fixture
def image_set_id(emulator: EmulatorServer, datastore_id: str) -> str:
    return emulator.service.seed_image_set(datastore_id, metadata_document())


def wait_for(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def settled(client: Any, datastore_id: str, image_set_id: str) -> dict[str, Any]:
    def active() -> dict[str, Any] | None:
        image_set = client.get_image_set(datastoreId=datastore_id, imageSetId=image_set_id)
        return image_set if image_set["imageSetState"] != "LOCKED" else None

    result: dict[str, Any] = wait_for(active)
    return result


def test_datastore_operations(client: Any, recorder: ContractRecorder, datastore_id: str) -> None:
    properties = client.get_datastore(datastoreId=datastore_id)["datastoreProperties"]
    listed = client.list_datastores(datastoreStatus="ACTIVE")["datastoreSummaries"]
    client.tag_resource(resourceArn=properties["datastoreArn"], tags={"team": "imaging"})

    assert properties["datastoreStatus"] == "ACTIVE"
    assert datastore_id in [d["datastoreId"] for d in listed]
    assert client.list_tags_for_resource(resourceArn=properties["datastoreArn"])["tags"] == {
        "team": "imaging"
    }
    assert client.delete_datastore(datastoreId=datastore_id)["datastoreStatus"] == "DELETING"


def test_update_get_and_list_versions(
    client: Any, recorder: ContractRecorder, datastore_id: str, image_set_id: str
) -> None:
    response = client.update_image_set_metadata(
        datastoreId=datastore_id,
        imageSetId=image_set_id,
        latestVersionId="1",
        force=False,
        includeStudyImageSets=False,
        updateImageSetMetadataUpdates={
            "DICOMUpdates": {"updatableAttributes": update_blob(Patient={"DICOM": {"PatientName": "MX^MX"}})}
        },
    )
    assert (response["latestVersionId"], response["imageSetState"]) == ("2", "LOCKED")
    assert settled(client, datastore_id, image_set_id)["imageSetWorkflowStatus"] == "UPDATED"

    versions = client.list_image_set_versions(datastoreId=datastore_id, imageSetId=image_set_id)
    statuses = [(v["versionId"], v["ImageSetWorkflowStatus"]) for v in versions["imageSetPropertiesList"]]
    assert statuses == [("2", "UPDATED"), ("1", "CREATED")]
    metadata = client.get_image_set_metadata(datastoreId=datastore_id, imageSetId=image_set_id, versionId="1")
    assert (metadata["contentType"], metadata["contentEncoding"]) == ("application/json", "gzip")
    document = json.loads(gzip.decompress(metadata["imageSetMetadataBlob"].read()))
    assert (document["SchemaVersion"], document["Patient"]["DICOM"]["PatientName"]) == ("1.1", "DOE^JANE")


def test_list_versions_paginates(
    client: Any, recorder: ContractRecorder, datastore_id: str, image_set_id: str
) -> None:
    for latest in ("1", "2"):
        client.update_image_set_metadata(
            datastoreId=datastore_id, imageSetId=image_set_id, latestVersionId=latest,
            updateImageSetMetadataUpdates={"revertToVersionId": "1"},
        )  # fmt: skip
        settled(client, datastore_id, image_set_id)
    paginator = client.get_paginator("list_image_set_versions")
    pages = list(
        paginator.paginate(
            datastoreId=datastore_id, imageSetId=image_set_id, PaginationConfig={"PageSize": 2}
        )
    )

    assert [len(p["imageSetPropertiesList"]) for p in pages] == [2, 1]


def test_search_by_dicom_identifiers_and_time_range(
    client: Any, emulator: EmulatorServer, recorder: ContractRecorder, datastore_id: str, image_set_id: str
) -> None:
    other = emulator.service.seed_image_set(
        datastore_id, metadata_document(study_uid="1.2.3.4", series_uid="1.2.3.4.5")
    )

    def search(*filters: dict[str, Any]) -> list[str]:
        found = client.search_image_sets(datastoreId=datastore_id, searchCriteria={"filters": list(filters)})
        return sorted(s["imageSetId"] for s in found["imageSetsMetadataSummaries"])

    now = dt.datetime.now(tz=dt.UTC)
    assert search({"operator": "EQUAL", "values": [{"DICOMPatientId": "P-1"}]}) == sorted(
        [image_set_id, other]
    )
    assert search({"operator": "EQUAL", "values": [{"DICOMStudyInstanceUID": "1.2.3.4"}]}) == [other]
    assert search({"operator": "EQUAL", "values": [{"DICOMSeriesInstanceUID": SERIES_UID}]}) == [image_set_id]
    assert search({"operator": "EQUAL", "values": [{"DICOMAccessionNumber": "nope"}]}) == []
    window = [{"createdAt": now - dt.timedelta(minutes=5)}, {"createdAt": now + dt.timedelta(minutes=5)}]
    assert search({"operator": "BETWEEN", "values": window}) == sorted([image_set_id, other])
    past = [{"updatedAt": now - dt.timedelta(days=2)}, {"updatedAt": now - dt.timedelta(days=1)}]
    assert search({"operator": "BETWEEN", "values": past}) == []
    first_page = client.search_image_sets(datastoreId=datastore_id, maxResults=1)
    assert len(first_page["imageSetsMetadataSummaries"]) == 1 and "nextToken" in first_page


def test_copy_and_delete_image_set(
    client: Any, recorder: ContractRecorder, datastore_id: str, image_set_id: str
) -> None:
    copied = client.copy_image_set(
        datastoreId=datastore_id,
        sourceImageSetId=image_set_id,
        copyImageSetInformation={"sourceImageSet": {"latestVersionId": "1"}},
    )
    copy_id = copied["destinationImageSetProperties"]["imageSetId"]
    assert settled(client, datastore_id, copy_id)["imageSetWorkflowStatus"] == "COPIED"

    deleted = client.delete_image_set(datastoreId=datastore_id, imageSetId=copy_id)
    assert (deleted["imageSetState"], deleted["imageSetWorkflowStatus"]) == ("LOCKED", "DELETING")
    assert settled(client, datastore_id, copy_id)["imageSetState"] == "DELETED"


def test_import_job_from_a_local_directory(
    client: Any, recorder: ContractRecorder, datastore_id: str, tmp_path: Path
) -> None:
    shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / "ct.dcm")
    started = client.start_dicom_import_job(
        datastoreId=datastore_id, dataAccessRoleArn=ROLE_ARN, clientToken="import-1", jobName="contract",
        inputS3Uri=f"file://{tmp_path}/", outputS3Uri=f"file://{tmp_path}/out/",
    )  # fmt: skip
    assert started["jobStatus"] == "SUBMITTED"

    def completed() -> dict[str, Any] | None:
        job = client.get_dicom_import_job(datastoreId=datastore_id, jobId=started["jobId"])["jobProperties"]
        return job if job["jobStatus"] == "COMPLETED" else None

    job = wait_for(completed)
    assert job["outputS3Uri"].endswith(f"/{datastore_id}-DicomImport-{started['jobId']}/")
    listed = client.list_dicom_import_jobs(datastoreId=datastore_id)["jobSummaries"]
    assert [j["jobId"] for j in listed] == [started["jobId"]]


def test_every_operation_of_the_model_is_served(client: Any, emulator: EmulatorServer) -> None:
    assert set(client.meta.service_model.operation_names) == set(emulator.service.operation_names)


@pytest.mark.parametrize(
    ("call", "code", "status"),
    [
        (lambda c, d, i: c.get_image_set(datastoreId=d, imageSetId="short"), "ValidationException", 400),
        (
            lambda c, d, i: c.get_image_set(datastoreId=d, imageSetId=i, versionId="x"),
            "ValidationException",
            400,
        ),
        (
            lambda c, d, i: c.get_image_set(datastoreId=d, imageSetId="f" * 32),
            "ResourceNotFoundException",
            404,
        ),
        (
            lambda c, d, i: c.update_image_set_metadata(
                datastoreId=d,
                imageSetId=i,
                latestVersionId="5",
                updateImageSetMetadataUpdates={"revertToVersionId": "1"},
            ),
            "ConflictException",
            409,
        ),
        (
            lambda c, d, i: c.update_image_set_metadata(
                datastoreId=d,
                imageSetId=i,
                latestVersionId="1",
                updateImageSetMetadataUpdates={"DICOMUpdates": {"updatableAttributes": b"x" * 30001}},
            ),
            "ValidationException",
            400,
        ),
        (
            lambda c, d, i: c.update_image_set_metadata(
                datastoreId=d,
                imageSetId=i,
                latestVersionId="1",
                updateImageSetMetadataUpdates={"DICOMUpdates": {"updatableAttributes": OVER_TEN_KB}},
            ),
            "ServiceQuotaExceededException",
            402,
        ),
        (
            lambda c, d, i: c.update_image_set_metadata(
                datastoreId=d,
                imageSetId=i,
                latestVersionId="1",
                updateImageSetMetadataUpdates={"DICOMUpdates": {}},
            ),
            "ValidationException",
            400,
        ),
    ],
)
def test_errors_have_the_models_code_status_and_shape(
    client: Any,
    recorder: ContractRecorder,
    datastore_id: str,
    image_set_id: str,
    call: Any,
    code: str,
    status: int,
) -> None:
    with pytest.raises(ClientError) as raised:
        call(client, datastore_id, image_set_id)

    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert raised.value.response["Error"]["Message"]


def test_unknown_route_gets_the_error_shape(emulator: EmulatorServer) -> None:
    request = urllib.request.Request(f"{emulator.endpoint_url}/no/such/operation", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)

    with raised.value as response:
        assert response.code == 404
        assert response.headers["x-amzn-ErrorType"] == "UnknownOperationException"
        assert json.loads(response.read())["__type"] == "UnknownOperationException"


def test_invalid_json_body_is_a_validation_error(emulator: EmulatorServer, datastore_id: str) -> None:
    url = f"{emulator.endpoint_url}/datastore/{datastore_id}/searchImageSets"
    request = urllib.request.Request(url, data=b"{not json", method="POST")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)

    with raised.value as response:
        assert response.code == 400
        assert response.headers["x-amzn-ErrorType"] == "ValidationException"


class _RequestCaptured(Exception):
    pass


def test_host_prefix_must_be_disabled_for_a_local_endpoint(emulator: EmulatorServer) -> None:
    """Why `medical_imaging_client` exists: with the prefix, botocore calls runtime-127.0.0.1."""
    prefixed = local_aws_client("medical-imaging", emulator.endpoint_url, inject_host_prefix=True)

    def capture(request: Any, **_: Any) -> None:
        raise _RequestCaptured(request.url)

    prefixed.meta.events.register("before-send", capture)
    with pytest.raises(_RequestCaptured, match=r"runtime-127\.0\.0\.1"):
        prefixed.get_image_set(datastoreId="0" * 32, imageSetId="0" * 32)
