"""UpdateImageSetMetadata, CopyImageSet and DeleteImageSet."""

from __future__ import annotations

import copy
from typing import Any

from local.healthimaging.errors import ConflictException, ServiceQuotaExceededException, ValidationException
from local.healthimaging.image_set_lifecycle import emit_image_set_event, open_locked_version
from local.healthimaging.primary_rules import check_primary_rules
from local.healthimaging.records import Datastore, ImageSet, PendingDeletion, PendingOutcome
from local.healthimaging.state import EmulatorState
from local.healthimaging.update_plan import (
    PlannedChange,
    check_dicom_updates,
    failure_message,
    parse_dicom_updates,
    plan_change,
)


def ensure_writable(image_set: ImageSet, expected_version: str | None = None) -> None:
    if image_set.deleted_at is not None or image_set.deletion is not None:
        raise ConflictException(f"Image set {image_set.image_set_id} is deleted or being deleted")
    if image_set.state == "LOCKED":
        raise ConflictException(f"Image set {image_set.image_set_id} is LOCKED by a write in progress")
    if expected_version is not None and expected_version != image_set.latest.version_id:
        raise ConflictException(
            f"latestVersion {expected_version} is not the latest version {image_set.latest.version_id}"
        )


def _ensure_capacity(state: EmulatorState, datastore: Datastore, new_writes: int) -> None:
    limit = state.behaviour.profile.max_concurrent_updates_per_datastore
    in_flight = sum(1 for d, _ in state.unsettled if d == datastore.datastore_id)
    if in_flight + new_writes > limit:
        raise ServiceQuotaExceededException(f"More than {limit} concurrent updates in this datastore")


def update_image_set_metadata(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    datastore = state.datastore(params["datastoreId"])
    image_set = state.image_set(params["datastoreId"], params["imageSetId"])
    ensure_writable(image_set, params["latestVersionId"])
    updates = params["updateImageSetMetadataUpdates"]
    force, include_study = bool(params.get("force")), bool(params.get("includeStudyImageSets"))
    if ("revertToVersionId" in updates) == ("DICOMUpdates" in updates):
        raise ValidationException("Give exactly one of DICOMUpdates and revertToVersionId")
    if "revertToVersionId" in updates:
        changes = [_plan_revert(image_set, updates["revertToVersionId"], include_study)]
    else:
        dicom_updates = updates["DICOMUpdates"]
        changes = _plan_dicom_updates(state, datastore, image_set, dicom_updates, force, include_study)
    _ensure_capacity(state, datastore, len(changes))
    _open_versions(state, changes, force)
    return {
        "datastoreId": image_set.datastore_id,
        "imageSetId": image_set.image_set_id,
        "latestVersionId": image_set.latest.version_id,
        "imageSetState": image_set.state,
        "imageSetWorkflowStatus": image_set.workflow_status,
        "createdAt": image_set.created_at,
        "updatedAt": image_set.latest.updated_at,
    }


def _plan_revert(image_set: ImageSet, version_id: str, include_study: bool) -> PlannedChange:
    if include_study:
        raise ValidationException("includeStudyImageSets is not supported with revertToVersionId")
    target = image_set.version(version_id)
    if target is None:
        raise ValidationException(f"revertToVersionId {version_id} is not a version of this image set")
    return PlannedChange(image_set, copy.deepcopy(target.document))


def _plan_dicom_updates(
    state: EmulatorState,
    datastore: Datastore,
    image_set: ImageSet,
    dicom_updates: dict[str, Any],
    force: bool,
    include_study: bool,
) -> list[PlannedChange]:
    profile = state.behaviour.profile
    updates = parse_dicom_updates(dicom_updates, profile.update_payload_limit_bytes)
    strict = profile.primary_image_set_rules == "strict"
    if strict and image_set.is_primary:
        check_primary_rules(updates)
    check_dicom_updates(updates, image_set.latest.document, force)
    changes = [plan_change(image_set, updates, force)]
    if include_study and image_set.study_instance_uid is not None:
        study_wide = updates.study_wide()
        for other in _primary_image_sets_of_the_study(datastore, image_set):
            ensure_writable(other)
            if strict:
                check_primary_rules(study_wide)
            changes.append(plan_change(other, study_wide, force))
    return changes


def _primary_image_sets_of_the_study(datastore: Datastore, image_set: ImageSet) -> list[ImageSet]:
    """The newest guide: `--include-study-image-sets` updates "all the primary image sets that share
    the same Study Instance UID"; non-primary ones keep their metadata."""
    study_uid = image_set.study_instance_uid
    return [
        s
        for s in datastore.image_sets.values()
        if s is not image_set and s.is_primary and s.deleted_at is None and s.study_instance_uid == study_uid
    ]


def _open_versions(state: EmulatorState, changes: list[PlannedChange], force: bool) -> None:
    """All image sets of one call settle together and share one outcome: the update is atomic."""
    deadline = state.clock.now() + state.behaviour.settle_seconds()
    problems = [p for change in changes for p in change.problems]
    if not problems and state.behaviour.update_fails():
        problems = ["Update failed (injected fault)"]
    for index, change in enumerate(changes):
        if problems:
            outcome = PendingOutcome(
                deadline,
                "UPDATE_FAILED",
                copy.deepcopy(change.image_set.latest.document),
                failure_message(problems),
                "Image Set Update Failed",
            )
        else:
            outcome = PendingOutcome(deadline, "UPDATED", change.document)
        status = "UPDATING" if index == 0 else "UPDATING_FOR_STUDY_CONSISTENCY"
        open_locked_version(state, change.image_set, status, outcome, force, "Image Set Updating")


def delete_image_set(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    image_set = state.image_set(params["datastoreId"], params["imageSetId"])
    ensure_writable(image_set)
    now = state.clock.now()
    image_set.deletion = PendingDeletion(now + state.behaviour.settle_seconds())
    state.unsettled.add((image_set.datastore_id, image_set.image_set_id))
    emit_image_set_event(state, image_set, "Image Set Deleting", now)
    return {
        "datastoreId": image_set.datastore_id,
        "imageSetId": image_set.image_set_id,
        "imageSetState": image_set.state,
        "imageSetWorkflowStatus": image_set.workflow_status,
    }
