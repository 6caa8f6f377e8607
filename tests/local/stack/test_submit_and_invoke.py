"""`python -m local.submit` builds native UpdateRequests; `local.invoke` reads every event file shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.invoke import Delivery, pointed_at, read_deliveries
from local.submit import AttributePathError, argument_parser, attribute_document, update_request

REPO = Path(__file__).resolve().parents[3]
SERIES = "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322"
INSTANCE = "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"


def request_from(*argv: str) -> dict[str, object]:
    return update_request(argument_parser().parse_args(["--image-set-id", "a" * 32, *argv]), "d" * 32)


def test_set_and_remove_build_metadata_shaped_documents() -> None:
    request = request_from(
        "--set", "Patient.PatientName=DOE^JANE", "--remove", "Study.StudyDescription=CHEST", "--force"
    )
    assert request == {
        "datastoreId": "d" * 32,
        "imageSetId": "a" * 32,
        "force": True,
        "DICOMUpdates": {
            "updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientName": "DOE^JANE"}}},
            "removableAttributes": {"SchemaVersion": 1.1, "Study": {"DICOM": {"StudyDescription": "CHEST"}}},
        },
    }


def test_series_and_instance_paths_keep_dotted_uids_whole() -> None:
    document = attribute_document(
        [f"Series[{SERIES}].Instances[{INSTANCE}].00091001=abc", f"Series[{SERIES}].Modality=CT"]
    )
    series = document["Study"]["Series"][SERIES]
    assert series["DICOM"] == {"Modality": "CT"}
    assert series["Instances"][INSTANCE]["DICOM"] == {"00091001": "abc"}


def test_removing_a_whole_instance_gives_an_empty_object() -> None:
    document = attribute_document([f"Series[{SERIES}].Instances[{INSTANCE}]"])
    assert document["Study"]["Series"][SERIES]["Instances"] == {INSTANCE: {}}


def test_json_values_stay_json_and_text_stays_text() -> None:
    document = attribute_document(['Study.StudyID=["1","2"]', "Study.AccessionNumber=123"])
    assert document["Study"]["DICOM"] == {"StudyID": ["1", "2"], "AccessionNumber": "123"}


def test_revert_is_exclusive() -> None:
    assert request_from("--revert", "1") == {
        "datastoreId": "d" * 32,
        "imageSetId": "a" * 32,
        "revertToVersionId": "1",
    }
    with pytest.raises(AttributePathError):
        request_from("--revert", "1", "--set", "Patient.PatientName=X")


@pytest.mark.parametrize("bad", ["Patient.PatientName", "Nowhere.PatientName=X", f"Series[{SERIES}]=X"])
def test_unreadable_assignments_are_refused(bad: str) -> None:
    with pytest.raises(AttributePathError):
        attribute_document([bad])


def test_event_files_of_every_shape_become_deliveries() -> None:
    (sqs,) = read_deliveries(REPO / "events/sqs/import-job-completed.json")
    (bridge,) = read_deliveries(REPO / "events/eventbridge/import-job-completed.json")
    (request,) = read_deliveries(REPO / "events/requests/01-update-patient-name.json")
    assert (sqs.kind, sqs.body["detail-type"], sqs.fifo) == ("sqs", "Import Job Completed", False)
    assert (bridge.kind, bridge.body["source"]) == ("eventbridge", "aws.medical-imaging")
    assert request.kind == "request"


def test_pointing_a_delivery_at_local_ids_swaps_only_ids() -> None:
    body = json.loads((REPO / "events/requests/01-update-patient-name.json").read_text())
    local = pointed_at(Delivery("f#0", "request", body), "d" * 32, "e" * 32)
    assert (local.body["datastoreId"], local.body["imageSetId"]) == ("d" * 32, "e" * 32)
    assert local.body["DICOMUpdates"] == body["DICOMUpdates"]
    event = pointed_at(
        next(read_deliveries(REPO / "events/eventbridge/import-job-completed.json")), "d" * 32, None
    )
    assert event.body["detail"]["datastoreId"] == "d" * 32
