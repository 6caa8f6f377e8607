from __future__ import annotations

import pytest

from tests.unit.updater.factories import DATASTORE_ID, patient_doc, update_request
from updater.domain.errors import FailureCode
from updater.domain.validation import API_BLOB_LIMIT_BYTES, validate_request

PATIENT_DOC = patient_doc(PatientName="MX^MX")


def codes(request: object, **options: object) -> list[FailureCode]:
    return [failure.code for failure in validate_request(request, **options)]  # type: ignore[arg-type]


def test_well_formed_update_is_valid() -> None:
    assert validate_request(update_request(PATIENT_DOC)) == ()


@pytest.mark.parametrize("datastore_id", ["short", "A" * 32, "g" * 31, "1234567890123456789012345678901-"])
def test_datastore_id_must_be_32_lowercase_alphanumerics(datastore_id: str) -> None:
    assert codes(update_request(PATIENT_DOC, datastoreId=datastore_id)) == [FailureCode.INVALID_DATASTORE_ID]


@pytest.mark.parametrize(
    "image_set_id", ["", "EA92B0D8838C72A3F25D00D13616F87E", "ea92b0d8838c72a3f25d00d13616f87e0"]
)
def test_image_set_id_must_be_32_lowercase_alphanumerics(image_set_id: str) -> None:
    assert codes(update_request(PATIENT_DOC, imageSetId=image_set_id)) == [FailureCode.INVALID_IMAGE_SET_ID]


@pytest.mark.parametrize("version", ["", "v1", "1.0", " 1", "-1"])
def test_expected_version_must_be_digits(version: str) -> None:
    assert codes(update_request(PATIENT_DOC, expectedVersionId=version)) == [FailureCode.INVALID_VERSION_ID]


def test_expected_version_digits_are_accepted() -> None:
    assert codes(update_request(PATIENT_DOC, expectedVersionId="12")) == []


@pytest.mark.parametrize("request_id", ["has space", "x" * 129, "tab\there"])
def test_request_id_must_be_printable_ascii_without_spaces(request_id: str) -> None:
    assert codes(update_request(PATIENT_DOC, requestId=request_id)) == [FailureCode.INVALID_REQUEST_ID]


def test_datastore_outside_the_allow_list_is_refused() -> None:
    request = update_request(PATIENT_DOC)
    assert codes(request, allowed_datastores=frozenset({"f" * 32})) == [FailureCode.DATASTORE_NOT_ALLOWED]
    assert codes(request, allowed_datastores=frozenset({DATASTORE_ID})) == []


def test_neither_update_kind_is_missing() -> None:
    assert codes(update_request()) == [FailureCode.UPDATE_KIND_MISSING]


def test_dicom_updates_without_documents_is_missing() -> None:
    request = update_request(DICOMUpdates={})
    assert codes(request) == [FailureCode.UPDATE_KIND_MISSING]


def test_both_update_kinds_are_ambiguous() -> None:
    assert codes(update_request(PATIENT_DOC, revertToVersionId="1")) == [FailureCode.UPDATE_KIND_AMBIGUOUS]


def test_revert_alone_is_valid() -> None:
    assert codes(update_request(revertToVersionId="1")) == []


def test_revert_version_must_be_digits() -> None:
    assert codes(update_request(revertToVersionId="latest")) == [FailureCode.INVALID_VERSION_ID]


def test_include_study_image_sets_cannot_go_with_revert() -> None:
    request = update_request(revertToVersionId="1", includeStudyImageSets=True)
    assert codes(request) == [FailureCode.INCLUDE_STUDY_WITH_REVERT]


def test_include_study_image_sets_is_fine_with_dicom_updates() -> None:
    assert codes(update_request(PATIENT_DOC, includeStudyImageSets=True)) == []


def test_documents_over_the_configured_payload_limit_are_too_large() -> None:
    request = update_request(patient_doc(PatientComments="x" * 900))
    size = sum(request.encoded_sizes().values())
    assert codes(request, max_payload_bytes=size) == []
    assert codes(request, max_payload_bytes=size - 1) == [FailureCode.PAYLOAD_TOO_LARGE]


def test_the_payload_limit_counts_both_documents_together() -> None:
    document = patient_doc(PatientComments="x" * 600)
    request = update_request(document, patient_doc(PatientComments="y" * 600))
    single = update_request(document).encoded_sizes()["updatableAttributes"]
    assert codes(request, max_payload_bytes=single + 10) == [FailureCode.PAYLOAD_TOO_LARGE]


def test_a_document_over_the_api_blob_limit_is_too_large_whatever_the_quota() -> None:
    request = update_request(patient_doc(PatientComments="x" * 9000, OtherPatientNames="y" * 22000))
    failures = validate_request(request, max_payload_bytes=1_000_000)
    assert [f.code for f in failures if f.code is FailureCode.PAYLOAD_TOO_LARGE] == [
        FailureCode.PAYLOAD_TOO_LARGE
    ]
    assert str(API_BLOB_LIMIT_BYTES) in failures[0].message
