"""Checks on the request envelope: identifiers, the data store allow-list and the kind of update."""

from __future__ import annotations

from updater.domain.errors import FailureCode, ValidationFailure
from updater.domain.identifiers import is_request_id, is_resource_id, is_version_id
from updater.domain.request import UpdateRequest


def _failure(code: FailureCode, field: str, rule: str) -> ValidationFailure:
    return ValidationFailure(code, field, f"{field} {rule}")


def check_identifiers(request: UpdateRequest, allowed_datastores: frozenset[str]) -> list[ValidationFailure]:
    failures = []
    if not is_resource_id(request.datastore_id):
        failures.append(
            _failure(
                FailureCode.INVALID_DATASTORE_ID, "datastoreId", "must be 32 lowercase letters or digits"
            )
        )
    elif allowed_datastores and request.datastore_id not in allowed_datastores:
        failures.append(
            _failure(
                FailureCode.DATASTORE_NOT_ALLOWED,
                "datastoreId",
                "is not a data store this deployment updates",
            )
        )
    if not is_resource_id(request.image_set_id):
        failures.append(
            _failure(FailureCode.INVALID_IMAGE_SET_ID, "imageSetId", "must be 32 lowercase letters or digits")
        )
    if request.expected_version_id is not None and not is_version_id(request.expected_version_id):
        failures.append(
            _failure(FailureCode.INVALID_VERSION_ID, "expectedVersionId", "must be 1 to 20 ASCII digits")
        )
    if not is_request_id(request.request_id):
        failures.append(
            _failure(
                FailureCode.INVALID_REQUEST_ID,
                "requestId",
                "must be 1 to 128 printable ASCII characters, in no form the updater derives",
            )
        )
    return failures


def check_update_kind(request: UpdateRequest) -> list[ValidationFailure]:
    has_documents = request.dicom_updates is not None and bool(request.dicom_updates.documents())
    if request.is_revert and request.dicom_updates is not None:
        return [
            _failure(
                FailureCode.UPDATE_KIND_AMBIGUOUS,
                "DICOMUpdates",
                "cannot be combined with revertToVersionId, give exactly one",
            )
        ]
    if not request.is_revert and not has_documents:
        return [
            _failure(
                FailureCode.UPDATE_KIND_MISSING,
                "DICOMUpdates",
                "needs updatableAttributes or removableAttributes, or give revertToVersionId",
            )
        ]
    failures = []
    if request.revert_to_version_id is not None:
        if not is_version_id(request.revert_to_version_id):
            failures.append(
                _failure(FailureCode.INVALID_VERSION_ID, "revertToVersionId", "must be 1 to 20 ASCII digits")
            )
        if request.include_study_image_sets:
            failures.append(
                _failure(
                    FailureCode.INCLUDE_STUDY_WITH_REVERT,
                    "includeStudyImageSets",
                    "is not supported together with revertToVersionId",
                )
            )
    return failures
