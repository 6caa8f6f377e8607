"""Thin wrappers over `HealthImagingService.call` so core tests read like the scenario they check."""

from __future__ import annotations

from typing import Any

from local.healthimaging import HealthImagingService


def update(
    service: HealthImagingService,
    datastore_id: str,
    image_set_id: str,
    latest_version: str,
    *,
    updatable: bytes | None = None,
    removable: bytes | None = None,
    revert_to: str | None = None,
    force: bool = False,
    include_study: bool = False,
) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    if revert_to is not None:
        updates["revertToVersionId"] = revert_to
    if updatable is not None or removable is not None:
        dicom = {"updatableAttributes": updatable, "removableAttributes": removable}
        updates["DICOMUpdates"] = {k: v for k, v in dicom.items() if v is not None}
    params = {
        "datastoreId": datastore_id,
        "imageSetId": image_set_id,
        "latestVersionId": latest_version,
        "force": force,
        "includeStudyImageSets": include_study,
        "updateImageSetMetadataUpdates": updates,
    }
    return service.call("UpdateImageSetMetadata", params)


def get_image_set(
    service: HealthImagingService, datastore_id: str, image_set_id: str, version: str | None = None
) -> dict[str, Any]:
    params = {"datastoreId": datastore_id, "imageSetId": image_set_id}
    if version is not None:
        params["versionId"] = version
    return service.call("GetImageSet", params)
