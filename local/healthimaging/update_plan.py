"""Plan an UpdateImageSetMetadata call: the documents each affected image set ends up with.

Everything that can be rejected synchronously is rejected here, before any state changes; value
problems are returned so the versions settle as UPDATE_FAILED.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from local.healthimaging.errors import ServiceQuotaExceededException, ValidationException
from local.healthimaging.messages import model_message
from local.healthimaging.records import ImageSet, MetadataDocument
from local.healthimaging.update_document import (
    UpdateDocument,
    apply_removals,
    apply_updates,
    check_update,
    parse_update_document,
    value_problems,
)

# The model's own maximum for a DICOMAttribute blob.
MODEL_BLOB_MAX_BYTES = 30000


@dataclass
class PlannedChange:
    image_set: ImageSet
    document: MetadataDocument
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DicomUpdates:
    removable: UpdateDocument | None
    updatable: UpdateDocument | None

    def study_wide(self) -> DicomUpdates:
        return DicomUpdates(
            self.removable.study_wide() if self.removable else None,
            self.updatable.study_wide() if self.updatable else None,
        )


def _as_bytes(blob: Any) -> bytes:
    return blob.encode("utf-8") if isinstance(blob, str) else bytes(blob)


def parse_dicom_updates(dicom_updates: dict[str, Any], payload_limit_bytes: int) -> DicomUpdates:
    blobs = {
        name: _as_bytes(dicom_updates[name])
        for name in ("removableAttributes", "updatableAttributes")
        if dicom_updates.get(name) is not None
    }
    if not blobs:
        raise ValidationException("DICOMUpdates needs updatableAttributes or removableAttributes")
    for name, blob in blobs.items():
        if not 1 <= len(blob) <= MODEL_BLOB_MAX_BYTES:
            raise ValidationException(f"{name} must be between 1 and {MODEL_BLOB_MAX_BYTES} bytes")
    if sum(len(b) for b in blobs.values()) > payload_limit_bytes:
        raise ServiceQuotaExceededException(
            f"Update payload exceeds the quota of {payload_limit_bytes} bytes for UpdateImageSetMetadata"
        )
    parsed = {name: parse_update_document(blob, name) for name, blob in blobs.items()}
    return DicomUpdates(parsed.get("removableAttributes"), parsed.get("updatableAttributes"))


def check_dicom_updates(updates: DicomUpdates, current: MetadataDocument, force: bool) -> None:
    if updates.removable:
        check_update(updates.removable, current, force, "removableAttributes")
    if updates.updatable:
        check_update(updates.updatable, current, force, "updatableAttributes")


def plan_change(image_set: ImageSet, updates: DicomUpdates, force: bool) -> PlannedChange:
    document = copy.deepcopy(image_set.latest.document)
    problems: list[str] = []
    try:
        if updates.removable:
            problems += apply_removals(document, updates.removable)
        if updates.updatable:
            if not force:
                problems += value_problems(updates.updatable)
            problems += apply_updates(document, updates.updatable)
    except KeyError:
        problems.append("An update names a series or instance the same request removes")
    return PlannedChange(image_set, document, problems)


def failure_message(problems: list[str]) -> str:
    """Problems joined with commas: the model's Message pattern has no `;`."""
    return model_message("INVALID_REQUEST: " + ", ".join(problems))
