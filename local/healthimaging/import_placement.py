"""Where imported instances land: the real service's re-import rules.

"Understanding image sets" / "Understanding import jobs" (developer guide): imports "always create
new image sets or increment the version of existing image sets"; "imported P10 data that conflicts
with primary image sets already in the store will be persisted as non-primary". Image sets are
grouped by the elements the guide lists as "DICOM elements used to create image sets": Patient ID,
Study Instance UID, Study Date, Accession Number, Study ID (study level), Series Instance UID and
Series Number (series level). So, per series of an import:

- no primary image set of that Study and Series Instance UID: a new image set, primary unless the
  study's primary image sets hold other study-level grouping values;
- one, with other grouping values: the instances become a new non-primary image set (conflict);
- one, with the same grouping values: new SOP instances, and re-imported ones whose content
  changed, are merged into it as a new version (ACTIVE / IMPORTED); identical re-imports change
  nothing. No event is published for that version: the guide documents none (the job's manifests
  list the image set), so the emulator does not invent one.

An existing image set that is LOCKED by a write in flight takes no import: those files fail with a
ConflictException in `FAILURE/` (the guide does not say what the service does; it cannot merge
into a version that is not settled).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from local.healthimaging.dicom_import import ParsedInstance, SeriesKey, build_document, group_by_series
from local.healthimaging.image_set_lifecycle import add_active_image_set
from local.healthimaging.records import Datastore, ImageSet, ImageSetVersion, MetadataDocument
from local.healthimaging.state import EmulatorState

_STUDY_GROUPING = (
    ("Patient", "PatientID"),
    ("Study", "StudyDate"),
    ("Study", "AccessionNumber"),
    ("Study", "StudyID"),
)


@dataclass(frozen=True)
class Placement:
    image_set: ImageSet
    instances: list[ParsedInstance]


@dataclass(frozen=True)
class Refusal:
    instance: ParsedInstance
    message: str


def place_instances(
    state: EmulatorState, datastore: Datastore, instances: list[ParsedInstance], *, announce: bool = True
) -> tuple[list[Placement], list[Refusal]]:
    """Caller holds the state lock. `announce`: publish `Image Set Created` for new image sets."""
    placements: list[Placement] = []
    refusals: list[Refusal] = []
    for key, members in group_by_series(instances).items():
        incoming = build_document(datastore.datastore_id, "", members)
        primary = _primary_of_series(datastore, key)
        if primary is None:
            conflict = any(
                _study_grouping(s.latest.document) != _study_grouping(incoming)
                for s in _primaries(datastore, key)
            )
            created = _create(state, datastore, members, not conflict, announce)
            placements.append(Placement(created, members))
        elif _grouping(primary.latest.document, key) != _grouping(incoming, key):
            placements.append(Placement(_create(state, datastore, members, False, announce), members))
        elif primary.state == "LOCKED":
            refusals += [
                Refusal(m, f"Image set {primary.image_set_id} is LOCKED by a write in progress")
                for m in members
            ]
        else:
            _merge(state, primary, key, members, incoming)
            placements.append(Placement(primary, members))
    return placements, refusals


def _primaries(datastore: Datastore, key: SeriesKey) -> list[ImageSet]:
    return [
        s
        for s in datastore.image_sets.values()
        if s.is_primary and s.deleted_at is None and s.study_instance_uid == key.study_instance_uid
    ]


def _primary_of_series(datastore: Datastore, key: SeriesKey) -> ImageSet | None:
    for image_set in _primaries(datastore, key):
        if key.series_instance_uid in image_set.latest.document["Study"]["Series"]:
            return image_set
    return None


def _study_grouping(document: MetadataDocument) -> tuple[Any, ...]:
    return tuple(document.get(level, {}).get("DICOM", {}).get(keyword) for level, keyword in _STUDY_GROUPING)


def _grouping(document: MetadataDocument, key: SeriesKey) -> tuple[Any, ...]:
    series = document["Study"]["Series"].get(key.series_instance_uid, {}).get("DICOM", {})
    return (*_study_grouping(document), series.get("SeriesNumber"))


def _create(
    state: EmulatorState,
    datastore: Datastore,
    members: list[ParsedInstance],
    is_primary: bool,
    announce: bool = True,
) -> ImageSet:
    image_set = add_active_image_set(state, datastore, {}, is_primary=is_primary, announce=announce)
    image_set.latest.document = build_document(datastore.datastore_id, image_set.image_set_id, members)
    _keep_frames(image_set, members)
    return image_set


def _keep_frames(image_set: ImageSet, members: list[ParsedInstance]) -> None:
    for member in members:
        image_set.frames.update((frame.frame_id, frame) for frame in member.frames.frames)


def _content(node: dict[str, Any]) -> tuple[Any, ...]:
    """An instance as stored, without its frame ids (a re-import gets new ones)."""
    frames = [{k: v for k, v in entry.items() if k != "ID"} for entry in node.get("ImageFrames", [])]
    return (node.get("DICOM"), node.get("DICOMVRs"), node.get("StoredTransferSyntaxUID"), frames)


def _merge(
    state: EmulatorState,
    primary: ImageSet,
    key: SeriesKey,
    members: list[ParsedInstance],
    incoming: MetadataDocument,
) -> None:
    stored = primary.latest.document["Study"]["Series"][key.series_instance_uid]["Instances"]
    arriving = incoming["Study"]["Series"][key.series_instance_uid]["Instances"]
    changed = {
        uid: node
        for uid, node in arriving.items()
        if uid not in stored or _content(stored[uid]) != _content(node)
    }
    if not changed:
        return  # identical data already stored: ignored
    document = copy.deepcopy(primary.latest.document)
    document["Study"]["Series"][key.series_instance_uid]["Instances"].update(copy.deepcopy(changed))
    now = state.clock.now()
    primary.versions.append(
        ImageSetVersion(primary.next_version_id(), "ACTIVE", "IMPORTED", now, now, document)
    )
    _keep_frames(primary, [m for m in members if m.sop_instance_uid in changed])
