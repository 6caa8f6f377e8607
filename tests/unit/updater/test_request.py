from __future__ import annotations

import base64
import json

import pytest

from tests.unit.updater.factories import DATASTORE_ID, IMAGE_SET_ID, patient_doc, update_request
from updater.domain.errors import FailureCode, RequestRejected
from updater.domain.request import MAX_RAW_BYTES, UpdateRequest, parse_update_request

PATIENT_DOC = patient_doc(PatientName="MX^MX")


def native_body(**fields: object) -> dict[str, object]:
    return {"datastoreId": DATASTORE_ID, "imageSetId": IMAGE_SET_ID, **fields}


def rejection_codes(raw: object) -> list[FailureCode]:
    with pytest.raises(RequestRejected) as caught:
        parse_update_request(raw)  # type: ignore[arg-type]
    return [failure.code for failure in caught.value.failures]


def test_native_request_with_document_object_maps_every_field() -> None:
    request = parse_update_request(
        native_body(
            requestId="req-1",
            expectedVersionId="3",
            force=True,
            includeStudyImageSets=True,
            dryRun=True,
            DICOMUpdates={"updatableAttributes": PATIENT_DOC},
        )
    )
    assert (request.datastore_id, request.image_set_id, request.request_id) == (
        DATASTORE_ID,
        IMAGE_SET_ID,
        "req-1",
    )
    assert request.expected_version_id == "3"
    assert request.force and request.include_study_image_sets and request.dry_run
    assert request.dicom_updates is not None
    assert request.dicom_updates.updatable_attributes == PATIENT_DOC
    assert not request.is_revert


@pytest.mark.parametrize(
    "encoded",
    [
        json.dumps(PATIENT_DOC),
        base64.b64encode(json.dumps(PATIENT_DOC).encode()).decode(),
    ],
    ids=["json-text", "base64"],
)
def test_document_given_as_text_or_base64_parses_to_the_same_object(encoded: str) -> None:
    request = parse_update_request(native_body(DICOMUpdates={"updatableAttributes": encoded}))
    assert request.dicom_updates is not None
    assert request.dicom_updates.updatable_attributes == PATIENT_DOC


def test_cli_input_json_is_accepted_unchanged_and_latest_version_becomes_the_pin() -> None:
    cli = {
        "datastoreId": DATASTORE_ID,
        "imageSetId": IMAGE_SET_ID,
        "latestVersionId": "1",
        "force": True,
        "updateImageSetMetadataUpdates": {"DICOMUpdates": {"updatableAttributes": json.dumps(PATIENT_DOC)}},
    }
    request = parse_update_request(json.dumps(cli))
    assert request.expected_version_id == "1"
    assert request.force
    assert request.dicom_updates is not None and request.dicom_updates.updatable_attributes == PATIENT_DOC


def test_cli_revert_maps_to_revert_request() -> None:
    cli = {
        "datastoreId": DATASTORE_ID,
        "imageSetId": IMAGE_SET_ID,
        "latestVersionId": "3",
        "updateImageSetMetadataUpdates": {"revertToVersionId": "1"},
    }
    request = parse_update_request(cli)
    assert request.is_revert and request.revert_to_version_id == "1"
    assert request.api_updates() == {"revertToVersionId": "1"}


def test_derived_request_id_is_stable_and_independent_of_document_encoding_and_shape() -> None:
    as_object = parse_update_request(
        native_body(expectedVersionId="1", DICOMUpdates={"updatableAttributes": PATIENT_DOC})
    )
    as_text = parse_update_request(
        native_body(expectedVersionId="1", DICOMUpdates={"updatableAttributes": json.dumps(PATIENT_DOC)})
    )
    as_cli = parse_update_request(
        {
            "datastoreId": DATASTORE_ID,
            "imageSetId": IMAGE_SET_ID,
            "latestVersionId": "1",
            "updateImageSetMetadataUpdates": {"DICOMUpdates": {"updatableAttributes": PATIENT_DOC}},
        }
    )
    assert len(as_object.request_id) == 64
    assert as_object.request_id == as_text.request_id == as_cli.request_id


def test_derived_request_id_differs_when_content_differs() -> None:
    base = update_request(PATIENT_DOC)
    assert base.request_id != update_request(patient_doc(PatientName="OTHER^NAME")).request_id
    assert base.request_id != update_request(PATIENT_DOC, dryRun=True).request_id
    assert base.request_id != update_request(PATIENT_DOC, force=True).request_id


def test_api_updates_sends_compact_json_bytes_for_each_document() -> None:
    removable = {"SchemaVersion": 1.1, "Study": {"DICOM": {"StudyDescription": "CHEST"}}}
    request = update_request(PATIENT_DOC, removable)
    blobs = request.api_updates()["DICOMUpdates"]
    assert json.loads(blobs["updatableAttributes"]) == PATIENT_DOC
    assert json.loads(blobs["removableAttributes"]) == removable
    assert b" " not in blobs["removableAttributes"]
    assert request.encoded_sizes() == {name: len(blob) for name, blob in blobs.items()}


def test_api_updates_refuses_an_ambiguous_request() -> None:
    request = update_request(PATIENT_DOC, revertToVersionId="1")
    with pytest.raises(ValueError, match="exactly one"):
        request.api_updates()


def test_wire_dict_round_trips_and_keeps_the_request_id() -> None:
    request = update_request(PATIENT_DOC, force=True, expectedVersionId="2")
    again = parse_update_request(json.dumps(request.wire_dict()))
    assert again == request
    assert request.wire_dict()["requestId"] == request.request_id


def test_request_is_immutable() -> None:
    request = update_request(PATIENT_DOC)
    with pytest.raises(ValueError, match="frozen"):
        request.force = True  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", FailureCode.INVALID_JSON),
        (b"\xff\xfe", FailureCode.INVALID_JSON),
        ('{"datastoreId": NaN}', FailureCode.INVALID_JSON),
        ("[1, 2]", FailureCode.PAYLOAD_NOT_OBJECT),
        ('"text"', FailureCode.PAYLOAD_NOT_OBJECT),
        ("[" * 200_000, FailureCode.INVALID_JSON),
        ('{"a":' * 100 + "1" + "}" * 100, FailureCode.NESTING_TOO_DEEP),
        (" " * (MAX_RAW_BYTES + 1), FailureCode.PAYLOAD_TOO_LARGE),
    ],
    ids=["malformed", "not-utf8", "nan", "array", "string", "deep-array", "deep-object", "oversize"],
)
def test_envelope_problems_are_rejected_with_their_code(raw: str | bytes, code: FailureCode) -> None:
    assert rejection_codes(raw) == [code]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"imageSetId": IMAGE_SET_ID}, FailureCode.SCHEMA_VIOLATION, "datastoreId"),
        (native_body(force="yes"), FailureCode.SCHEMA_VIOLATION, "force"),
        (native_body(expectedVersionId=1), FailureCode.SCHEMA_VIOLATION, "expectedVersionId"),
        (native_body(dryrun=True), FailureCode.UNKNOWN_FIELD, "dryrun"),
        (native_body(DICOMUpdates={"updatableAttributes": "[1]"}), FailureCode.DOCUMENT_NOT_OBJECT, ""),
        (native_body(DICOMUpdates={"updatableAttributes": 7}), FailureCode.DOCUMENT_NOT_OBJECT, ""),
        (native_body(DICOMUpdates={"updatableAttributes": "{oops"}), FailureCode.DOCUMENT_INVALID_JSON, ""),
        (native_body(DICOMUpdates={"removableAttributes": "{oops"}), FailureCode.DOCUMENT_INVALID_JSON, ""),
        (native_body(DICOMUpdates={"updatableAttributes": '{"a":1e999}'}), FailureCode.INVALID_JSON, ""),
        (native_body(DICOMUpdates="text"), FailureCode.SCHEMA_VIOLATION, "DICOMUpdates"),
    ],
)
def test_field_problems_are_rejected_with_code_and_location(
    body: dict[str, object], code: FailureCode, field: str
) -> None:
    with pytest.raises(RequestRejected) as caught:
        parse_update_request(body)
    failure = caught.value.failures[0]
    assert failure.code == code
    assert failure.field.startswith(field or "DICOMUpdates.")
    assert caught.value.code == code


def test_mapping_input_with_non_json_values_is_rejected() -> None:
    assert rejection_codes(native_body(requestId=b"bytes")) == [FailureCode.INVALID_JSON]
    assert rejection_codes({1: "non-string key"}) == [FailureCode.INVALID_JSON]
    assert rejection_codes(native_body(force=float("nan"))) == [FailureCode.INVALID_JSON]


def test_oversize_mapping_input_is_rejected() -> None:
    assert rejection_codes(native_body(requestId="x" * (MAX_RAW_BYTES + 1))) == [
        FailureCode.PAYLOAD_TOO_LARGE
    ]


def test_request_rejected_summarises_first_failure_and_count() -> None:
    with pytest.raises(RequestRejected) as caught:
        parse_update_request({"force": "no"})
    text = str(caught.value)
    assert text.startswith("SCHEMA_VIOLATION at ")
    assert "more" in text


def test_model_construction_by_field_name_is_supported_for_the_service_layer() -> None:
    request = UpdateRequest(datastore_id=DATASTORE_ID, image_set_id=IMAGE_SET_ID, revert_to_version_id="1")
    assert request.request_id and request.is_revert
