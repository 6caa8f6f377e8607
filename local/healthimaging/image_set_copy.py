"""CopyImageSet: into a new image set, or merged into an existing one of the same series."""

from __future__ import annotations

import copy
import json
from typing import Any

from local.healthimaging.errors import ValidationException
from local.healthimaging.image_set_lifecycle import emit_image_set_event, open_locked_version, stamp_identity
from local.healthimaging.image_set_writes import ensure_writable
from local.healthimaging.records import (
    ImageSet,
    MetadataDocument,
    PendingCopySource,
    PendingOutcome,
    new_resource_id,
)
from local.healthimaging.state import EmulatorState

SERIES_MISMATCH = "INVALID_REQUEST:  Series of SourceImageSet and DestinationImageSet don't match."


def _selected(document: MetadataDocument, copiable_attributes: str | None) -> MetadataDocument:
    """Keep only the instances `copiableAttributes` names (its shape mirrors the metadata document)."""
    selected = copy.deepcopy(document)
    if copiable_attributes is None:
        return selected
    try:
        wanted = json.loads(copiable_attributes)["Study"]["Series"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValidationException("copiableAttributes must name Study.Series instances") from error
    series_map = selected["Study"]["Series"]
    for series_uid in list(series_map):
        if series_uid not in wanted:
            del series_map[series_uid]
            continue
        names = wanted[series_uid].get("Instances", {})
        instances = series_map[series_uid]["Instances"]
        for instance_uid in list(instances):
            if instance_uid not in names:
                del instances[instance_uid]
    return selected


def _merge_into(
    destination: MetadataDocument, source: MetadataDocument
) -> tuple[MetadataDocument, str | None]:
    merged = copy.deepcopy(destination)
    source_series, destination_series = source["Study"]["Series"], merged["Study"]["Series"]
    if set(source_series) != set(destination_series):
        return merged, SERIES_MISMATCH
    for series_uid, series in source_series.items():
        destination_series[series_uid]["Instances"].update(copy.deepcopy(series["Instances"]))
    return merged, None


def _properties(state: EmulatorState, image_set: ImageSet) -> dict[str, Any]:
    return {
        "imageSetId": image_set.image_set_id,
        "latestVersionId": image_set.latest.version_id,
        "imageSetState": image_set.state,
        "imageSetWorkflowStatus": image_set.workflow_status,
        "createdAt": image_set.created_at,
        "updatedAt": image_set.latest.updated_at,
        "imageSetArn": state.image_set_arn(image_set.datastore_id, image_set.image_set_id),
    }


def _lock_for_reading(state: EmulatorState, source: ImageSet, deadline: float) -> None:
    """The source takes no write while it is copied (CLI copy-image-set example: LOCKED,
    COPYING_WITH_READ_ONLY_ACCESS); it gets no version of its own."""
    source.copy_source = PendingCopySource(deadline)
    state.unsettled.add((source.datastore_id, source.image_set_id))
    emit_image_set_event(state, source, "Image Set Copying With Read Only Access", state.clock.now())


def copy_image_set(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    datastore = state.datastore(params["datastoreId"])
    source = state.image_set(params["datastoreId"], params["sourceImageSetId"])
    information = params["copyImageSetInformation"]
    ensure_writable(source, information["sourceImageSet"]["latestVersionId"])
    copies = information["sourceImageSet"].get("DICOMCopies") or {}
    copied = _selected(source.latest.document, copies.get("copiableAttributes"))
    deadline = state.clock.now() + state.behaviour.settle_seconds()
    force = bool(params.get("force"))
    target_info = information.get("destinationImageSet")
    if target_info is None:
        is_primary = bool(params.get("promoteToPrimary"))
        destination = ImageSet(
            new_resource_id(), datastore.datastore_id, state.clock.now(), is_primary=is_primary
        )
        datastore.image_sets[destination.image_set_id] = destination
        document = stamp_identity(copied, datastore.datastore_id, destination.image_set_id)
        outcome = PendingOutcome(deadline, "COPIED", document, completed_event="Image Set Copied")
    else:
        if target_info["imageSetId"] == source.image_set_id:
            raise ValidationException("The destination image set must differ from the source")
        destination = state.image_set(params["datastoreId"], target_info["imageSetId"])
        ensure_writable(destination, target_info["latestVersionId"])
        document, problem = _merge_into(destination.latest.document, copied)
        if problem is None:
            outcome = PendingOutcome(deadline, "COPIED", document, completed_event="Image Set Copied")
        else:
            previous = copy.deepcopy(destination.latest.document)
            outcome = PendingOutcome(deadline, "COPY_FAILED", previous, problem, "Image Set Copy Failed")
    source_arn = {"sourceImageSetArn": state.image_set_arn(source.datastore_id, source.image_set_id)}
    open_locked_version(state, destination, "COPYING", outcome, force, "Image Set Copying", source_arn)
    destination.frames.update(source.frames)  # the copied instances' frame ids stay valid
    _lock_for_reading(state, source, deadline)
    return {
        "datastoreId": datastore.datastore_id,
        "sourceImageSetProperties": _properties(state, source),
        "destinationImageSetProperties": _properties(state, destination),
    }
