"""Image set creation, LOCKED versions and their settling into a final state.

Settling is lazy: every operation first calls `settle_due`, which finalizes each write whose
deadline (drawn from the behaviour profile when it was accepted) has passed on the clock; the
server's background ticker calls it too, so completion events flow without client traffic.
"""

from __future__ import annotations

import copy

from local.healthimaging.events import image_set_event
from local.healthimaging.records import (
    Datastore,
    ImageSet,
    ImageSetVersion,
    MetadataDocument,
    PendingOutcome,
    new_resource_id,
)
from local.healthimaging.state import EmulatorState

FAILED_EVENT = {"Image Set Updated": "Image Set Update Failed", "Image Set Copied": "Image Set Copy Failed"}


def emit_image_set_event(
    state: EmulatorState,
    image_set: ImageSet,
    detail_type: str,
    at: float,
    extra: dict[str, str] | None = None,
) -> None:
    state.outbox.add(
        image_set_event(
            detail_type,
            state.image_set_arn(image_set.datastore_id, image_set.image_set_id),
            image_set.datastore_id,
            image_set.image_set_id,
            image_set.latest.version_id,
            image_set.state,
            image_set.workflow_status,
            image_set.is_primary,
            at,
            state.behaviour.profile.image_set_event_id_key,
            extra,
        )
    )


def stamp_identity(document: MetadataDocument, datastore_id: str, image_set_id: str) -> MetadataDocument:
    stamped = copy.deepcopy(document)
    stamped["SchemaVersion"] = "1.1"
    stamped["DatastoreID"] = datastore_id
    stamped["ImageSetID"] = image_set_id
    stamped.setdefault("Patient", {}).setdefault("DICOM", {})
    stamped.setdefault("Study", {}).setdefault("DICOM", {})
    stamped["Study"].setdefault("Series", {})
    return stamped


def add_active_image_set(
    state: EmulatorState,
    datastore: Datastore,
    document: MetadataDocument,
    is_primary: bool = True,
    *,
    announce: bool = True,
) -> ImageSet:
    """Version 1, ACTIVE/CREATED: what an import leaves behind (announced as `Image Set Created`)."""
    now = state.clock.now()
    image_set_id = new_resource_id()
    image_set = ImageSet(image_set_id, datastore.datastore_id, created_at=now, is_primary=is_primary)
    version = ImageSetVersion(
        "1", "ACTIVE", "CREATED", now, now, stamp_identity(document, datastore.datastore_id, image_set_id)
    )
    image_set.versions.append(version)
    datastore.image_sets[image_set_id] = image_set
    if announce:
        emit_image_set_event(state, image_set, "Image Set Created", now)
    return image_set


def open_locked_version(
    state: EmulatorState,
    image_set: ImageSet,
    workflow_status: str,
    outcome: PendingOutcome,
    forced: bool,
    started_event: str,
    started_detail: dict[str, str] | None = None,
) -> ImageSetVersion:
    """Append a LOCKED version serving the previous metadata until `outcome` is due."""
    now = state.clock.now()
    previous = image_set.latest.document if image_set.versions else outcome.document
    version = ImageSetVersion(
        version_id=image_set.next_version_id() if image_set.versions else "1",
        state="LOCKED",
        workflow_status=workflow_status,
        created_at=now,
        updated_at=now,
        document=copy.deepcopy(previous),
        forced=forced,
        pending=outcome,
    )
    image_set.versions.append(version)
    state.unsettled.add((image_set.datastore_id, image_set.image_set_id))
    emit_image_set_event(state, image_set, started_event, now, started_detail)
    return version


def settle_due(state: EmulatorState) -> None:
    now = state.clock.now()
    for key in sorted(state.unsettled):
        image_set = state.datastores[key[0]].image_sets[key[1]]
        if _settle(state, image_set, now):
            state.unsettled.discard(key)


def _settle(state: EmulatorState, image_set: ImageSet, now: float) -> bool:
    """Finalize what is due; True when nothing is left in flight for this image set."""
    version = image_set.latest
    outcome = version.pending
    if outcome is not None and outcome.deadline <= now:
        version.state = "ACTIVE"
        version.workflow_status = outcome.workflow_status
        version.document = outcome.document
        version.message = outcome.message
        version.updated_at = outcome.deadline
        version.pending = None
        emit_image_set_event(state, image_set, outcome.completed_event, outcome.deadline)
    copy_source = image_set.copy_source
    if copy_source is not None and copy_source.deadline <= now:
        image_set.copy_source = None  # back to the state and status of its latest version
    deletion = image_set.deletion
    if deletion is not None and deletion.deadline <= now:
        image_set.deletion = None
        image_set.deleted_at = deletion.deadline
        emit_image_set_event(state, image_set, "Image Set Deleted", deletion.deadline)
    return image_set.latest.pending is None and image_set.deletion is None and image_set.copy_source is None
