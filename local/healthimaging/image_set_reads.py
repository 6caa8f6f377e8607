"""GetImageSet, GetImageSetMetadata, GetImageFrame and ListImageSetVersions."""

from __future__ import annotations

import gzip
import json
from typing import Any

from local.healthimaging.errors import ResourceNotFoundException
from local.healthimaging.pagination import page
from local.healthimaging.records import ImageSet, ImageSetVersion
from local.healthimaging.state import EmulatorState


def resolve_version(image_set: ImageSet, version_id: str | None) -> ImageSetVersion:
    if version_id is None:
        return image_set.latest
    version = image_set.version(version_id)
    if version is None:
        raise ResourceNotFoundException(f"Image set version {version_id} does not exist")
    return version


def version_properties(image_set: ImageSet, version: ImageSetVersion) -> dict[str, Any]:
    """The fields GetImageSet and ListImageSetVersions share (workflow status key excluded)."""
    is_latest = version is image_set.latest
    properties: dict[str, Any] = {
        "imageSetId": image_set.image_set_id,
        "versionId": version.version_id,
        "imageSetState": image_set.state if is_latest else version.state,
        # Every version reports the image set's creation time (the CLI's list-image-set-versions
        # example shows one createdAt for versions 1 to 4); updatedAt is the version's own.
        "createdAt": image_set.created_at,
        "updatedAt": version.updated_at,
        "isPrimary": image_set.is_primary,
    }
    if image_set.deleted_at is not None:
        properties["deletedAt"] = image_set.deleted_at
    if version.message:
        properties["message"] = version.message
    if version.forced:
        properties["overrides"] = {"forced": True}
    return properties


def _workflow_status(image_set: ImageSet, version: ImageSetVersion) -> str:
    return image_set.workflow_status if version is image_set.latest else version.workflow_status


def get_image_set(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    image_set = state.image_set(params["datastoreId"], params["imageSetId"])
    version = resolve_version(image_set, params.get("versionId"))
    return {
        "datastoreId": image_set.datastore_id,
        **version_properties(image_set, version),
        "imageSetWorkflowStatus": _workflow_status(image_set, version),
        "imageSetArn": state.image_set_arn(image_set.datastore_id, image_set.image_set_id),
        "storageTier": "FREQUENT_ACCESS",
    }


def get_image_set_metadata(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    image_set = state.image_set(params["datastoreId"], params["imageSetId"])
    version = resolve_version(image_set, params.get("versionId"))
    body = gzip.compress(json.dumps(version.document).encode("utf-8"))
    return {"imageSetMetadataBlob": body, "contentType": "application/json", "contentEncoding": "gzip"}


def list_image_set_versions(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    image_set = state.image_set(params["datastoreId"], params["imageSetId"])
    newest_first = list(reversed(image_set.versions))
    items, token = page(newest_first, params.get("maxResults"), params.get("nextToken"))
    # The wire spells this key with a capital I; botocore ignores the lowercase form here.
    listed = [
        {**version_properties(image_set, v), "ImageSetWorkflowStatus": _workflow_status(image_set, v)}
        for v in items
    ]
    return {"imageSetPropertiesList": listed, **({"nextToken": token} if token else {})}


def get_image_frame(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    """The stored frame as it is ("No transcoding is performed during retrieval", developer guide)."""
    image_set = state.image_set(params["datastoreId"], params["imageSetId"])
    frame_id = params["imageFrameInformation"]["imageFrameId"]
    frame = image_set.frames.get(frame_id)
    if frame is None or image_set.deleted_at is not None:
        raise ResourceNotFoundException(f"Image frame {frame_id} does not exist")
    return {"imageFrameBlob": frame.data, "contentType": frame.content_type}
