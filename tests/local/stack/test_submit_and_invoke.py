"""`python -m local.submit` builds native UpdateRequests; `local.invoke` reads every event file shape
and points records at local image sets, leaving alone what is malformed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from local.command_line import UserError
from local.replay_records import Delivery, LocalIds, pointed_at, read_deliveries
from local.samples import SampleImageSet, SampleImport
from local.submit import AttributePathError, argument_parser, attribute_document, update_request

REPO = Path(__file__).resolve().parents[3]
SERIES = "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322"
INSTANCE = "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"
LOCAL_IMAGE_SET = SampleImageSet("e" * 32, "CT_small.dcm", "CT", "3", "1.2.3", ("1.2.3.4",))
LOCAL = LocalIds("d" * 32, image_set=LOCAL_IMAGE_SET)


def request_from(*argv: str) -> dict[str, object]:
    request = update_request(argument_parser().parse_args(["--image-set-id", "a" * 32, *argv]), "d" * 32)
    assert re.fullmatch(r"submit-[0-9a-f]{12}", str(request.pop("requestId")))
    return request


def test_every_submit_is_a_new_request_unless_it_names_its_id() -> None:
    parse = argument_parser().parse_args
    first, second = (
        update_request(parse(["--image-set-id", "a" * 32, "--revert", "1"]), "d" * 32) for _ in "12"
    )
    assert first["requestId"] != second["requestId"]
    named = update_request(
        parse(["--image-set-id", "a" * 32, "--revert", "1", "--request-id", "r-1"]), "d" * 32
    )
    assert named["requestId"] == "r-1"


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
    (broken,) = read_deliveries(REPO / "events/sqs/bad/body-not-json.json")
    assert isinstance(sqs.body, dict) and (sqs.kind, sqs.body["detail-type"], sqs.fifo) == (
        "sqs",
        "Import Job Completed",
        False,
    )
    assert isinstance(bridge.body, dict) and (bridge.kind, bridge.body["source"]) == (
        "eventbridge",
        "aws.medical-imaging",
    )
    assert request.kind == "request" and request.names_an_image_set
    assert broken.body == "{not json"  # sent as it is: its rejection is the point


@pytest.mark.parametrize("content", ["[1, 2]", '{"Records": "no"}', '{"Records": [{"body": 1}]}'])
def test_a_file_that_is_no_event_is_a_user_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "event.json"
    path.write_text(content)
    with pytest.raises(UserError):
        list(read_deliveries(path))


def test_pointing_a_delivery_at_local_ids_swaps_only_ids() -> None:
    body = json.loads((REPO / "events/requests/01-update-patient-name.json").read_text())
    local = pointed_at(Delivery("f#0", "request", body), LOCAL)
    assert isinstance(local.body, dict)
    assert (local.body["datastoreId"], local.body["imageSetId"]) == ("d" * 32, "e" * 32)
    assert local.body["DICOMUpdates"] == body["DICOMUpdates"]


def test_series_and_instance_uids_are_pointed_at_the_image_set_also_inside_json_text() -> None:
    body = json.loads((REPO / "events/requests/05-add-private-tag.json").read_text())
    local = pointed_at(Delivery("f#0", "request", body), LOCAL)
    assert isinstance(local.body, dict)
    document = json.loads(local.body["DICOMUpdates"]["updatableAttributes"])
    assert list(document["Study"]["Series"]) == ["1.2.3"]
    assert list(document["Study"]["Series"]["1.2.3"]["Instances"]) == ["1.2.3.4"]


def test_what_a_bad_sample_is_about_stays_malformed() -> None:
    for name, field in (
        ("invalid-datastore-id.json", "datastoreId"),
        ("revert-version-not-digits.json", "revertToVersionId"),
    ):
        body = json.loads((REPO / "events/requests/bad" / name).read_text())
        local = pointed_at(Delivery("f#0", "request", body), LOCAL)
        assert isinstance(local.body, dict) and local.body[field] == body[field]
    body = json.loads((REPO / "events/requests/bad/series-key-not-a-uid.json").read_text())
    local = pointed_at(Delivery("f#0", "request", body), LOCAL)
    assert isinstance(local.body, dict)
    assert list(local.body["DICOMUpdates"]["updatableAttributes"]["Study"]["Series"]) == ["series-one"]


def test_a_replayed_request_is_new_and_pinned_to_the_local_version() -> None:
    body = json.loads((REPO / "events/requests/cli-input-update-patient-name.json").read_text())
    local = pointed_at(Delivery("f#0", "request", {**body, "requestId": "orders-1"}), LOCAL)
    assert isinstance(local.body, dict)
    assert (local.body["latestVersionId"], local.body["requestId"]) == ("3", "orders-1~eeeeeeee")


def test_an_import_event_is_pointed_at_a_real_job() -> None:
    job = SampleImport("f" * 32, "d" * 32, "s3://bucket/input/x/", "s3://bucket/output/x/", ())
    (event,) = read_deliveries(REPO / "events/eventbridge/import-job-completed.json")
    local = pointed_at(event, LocalIds("d" * 32, import_job=job))
    assert isinstance(local.body, dict)
    detail = local.body["detail"]
    assert (detail["jobId"], detail["datastoreId"], detail["outputS3Uri"]) == (
        "f" * 32,
        "d" * 32,
        job.output_s3_uri,
    )
    assert local.body["resources"][0].endswith(f"datastore/{'d' * 32}")
