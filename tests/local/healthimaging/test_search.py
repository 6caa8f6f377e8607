"""SearchImageSets over HTTP: study date and time, sort, study-level counts, and pages that hold while
the image sets they list are updated (a patient-level correction's search-then-update loop)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.healthimaging import EmulatorServer
from tests.local.healthimaging.contract import ContractRecorder
from tests.local.healthimaging.documents import metadata_document


@pytest.fixture
def recorder(client: Any) -> Iterator[ContractRecorder]:
    recorder = ContractRecorder(client)
    yield recorder
    assert recorder.problems == []


@pytest.fixture
def datastore_id(client: Any) -> str:
    return str(client.create_datastore(datastoreName="search", clientToken="s")["datastoreId"])


def seed(
    emulator: EmulatorServer, datastore_id: str, study: str, date: str, time_: str | None, **kw: Any
) -> str:
    document = metadata_document(study_uid=study, series_uid=f"{study}.1", instance_uids=(f"{study}.1.1",))
    document["Study"]["DICOM"]["StudyDate"] = date
    if time_ is not None:
        document["Study"]["DICOM"]["StudyTime"] = time_
    return emulator.service.seed_image_set(datastore_id, document, **kw)


def ids(found: dict[str, Any]) -> list[str]:
    return [s["imageSetId"] for s in found["imageSetsMetadataSummaries"]]


def test_between_and_sort_on_study_date_and_time(
    client: Any, emulator: EmulatorServer, recorder: ContractRecorder, datastore_id: str
) -> None:
    early = seed(emulator, datastore_id, "1.2.1", "19990101", "083000")
    late = seed(emulator, datastore_id, "1.2.2", "20230101", "101500.25")
    no_time = seed(emulator, datastore_id, "1.2.3", "20230101", None)
    seed(emulator, datastore_id, "1.2.4", "20240601", "000000")
    window = [
        {"DICOMStudyDateAndTime": {"DICOMStudyDate": "19990101", "DICOMStudyTime": "000000"}},
        {"DICOMStudyDateAndTime": {"DICOMStudyDate": "20230101"}},
    ]
    found = client.search_image_sets(
        datastoreId=datastore_id,
        searchCriteria={
            "filters": [{"operator": "BETWEEN", "values": window}],
            "sort": {"sortField": "DICOMStudyDateAndTime", "sortOrder": "ASC"},
        },
    )

    assert ids(found) == [early, no_time, late]
    assert found["sort"] == {"sortField": "DICOMStudyDateAndTime", "sortOrder": "ASC"}
    same_day = client.search_image_sets(
        datastoreId=datastore_id,
        searchCriteria={
            "filters": [
                {"operator": "EQUAL", "values": [{"DICOMStudyDateAndTime": {"DICOMStudyDate": "20230101"}}]}
            ]
        },
    )
    assert sorted(ids(same_day)) == sorted([late, no_time])


def test_summaries_carry_the_study_counts_and_series_tags(
    client: Any, emulator: EmulatorServer, recorder: ContractRecorder, datastore_id: str
) -> None:
    study = "1.2.9"
    two_instances = metadata_document(
        study_uid=study, series_uid="1.2.9.1", instance_uids=("1.2.9.1.1", "1.2.9.1.2")
    )
    one_instance = metadata_document(study_uid=study, series_uid="1.2.9.2", instance_uids=("1.2.9.2.1",))
    first = emulator.service.seed_image_set(datastore_id, two_instances)
    emulator.service.seed_image_set(datastore_id, one_instance)
    emulator.service.seed_image_set(datastore_id, one_instance, is_primary=False)  # not counted

    found = client.search_image_sets(
        datastoreId=datastore_id,
        searchCriteria={
            "filters": [{"operator": "EQUAL", "values": [{"DICOMSeriesInstanceUID": "1.2.9.1"}]}]
        },
    )

    [summary] = found["imageSetsMetadataSummaries"]
    assert summary["imageSetId"] == first
    tags = summary["DICOMTags"]
    assert (tags["DICOMNumberOfStudyRelatedSeries"], tags["DICOMNumberOfStudyRelatedInstances"]) == (2, 3)
    assert (tags["DICOMSeriesModality"], tags["DICOMSeriesNumber"]) == ("CT", 1)


def test_pages_by_patient_id_hold_while_the_listed_image_sets_are_corrected(
    client: Any, emulator: EmulatorServer, recorder: ContractRecorder, datastore_id: str
) -> None:
    """Search by the old PatientID, correct each page's image sets, ask for the next page: every image
    set is reached once, although each correction moves it to the top and out of the filter."""
    wanted = {seed(emulator, datastore_id, f"1.3.{n}", "20200101", None) for n in range(7)}
    criteria = {"filters": [{"operator": "EQUAL", "values": [{"DICOMPatientId": "P-1"}]}]}
    reached: list[str] = []
    token: str | None = None
    while True:
        page = client.search_image_sets(
            datastoreId=datastore_id,
            searchCriteria=criteria,
            maxResults=3,
            **({"nextToken": token} if token else {}),
        )
        for image_set_id in ids(page):
            reached.append(image_set_id)
            correct_patient_id(client, datastore_id, image_set_id)
        token = page.get("nextToken")
        if token is None:
            break

    assert sorted(reached) == sorted(wanted)


NEW_PATIENT_ID = b'{"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientID": "P-2"}}}'


def correct_patient_id(client: Any, datastore_id: str, image_set_id: str) -> None:
    client.update_image_set_metadata(
        datastoreId=datastore_id, imageSetId=image_set_id, latestVersionId="1",
        updateImageSetMetadataUpdates={"DICOMUpdates": {"updatableAttributes": NEW_PATIENT_ID}},
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while (
        client.get_image_set(datastoreId=datastore_id, imageSetId=image_set_id)["imageSetState"] == "LOCKED"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_more_than_two_filters_is_a_validation_error(client: Any, datastore_id: str) -> None:
    filters = [{"operator": "EQUAL", "values": [{"DICOMPatientId": str(n)}]} for n in range(3)]

    with pytest.raises(ClientError) as raised:
        client.search_image_sets(datastoreId=datastore_id, searchCriteria={"filters": filters})
    assert raised.value.response["Error"]["Code"] == "ValidationException"
