"""Parse, check and apply the JSON documents of `DICOMUpdates` to a metadata document.

Split decided for the emulator (the service documents neither side):
- synchronous ValidationException: anything about the request's shape — invalid JSON, missing or
  unknown SchemaVersion, unknown keys, generated attributes, attributes at the wrong level, series or
  instances the image set lacks, and every rule `force` lifts (UIDs, StudyID, PixelData, SQ,
  multi-valued, non-standard attributes, instance private tags);
- asynchronous UPDATE_FAILED: anything about values — a value that does not fit its VR, or a
  removal whose value differs from the stored one.
Messages name attributes only, never values (PHI), and fit the model's message pattern.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from local.healthimaging.dicom_levels import (
    Level,
    is_private_tag_key,
    is_standard_keyword,
    is_tag_key,
    level_of,
    standard_vr,
)
from local.healthimaging.errors import ValidationException
from local.healthimaging.records import MetadataDocument
from local.healthimaging.vr_values import is_compatible

GENERATED_ATTRIBUTES = frozenset(
    {
        "SchemaVersion",
        "DatastoreID",
        "ImageSetID",
        "Checksum",
        "Width",
        "Height",
        "MinPixelValue",
        "MaxPixelValue",
        "FrameSizeInBytes",
    }
)
# PixelData is listed both as never updatable and as updatable with force; the specific rule wins.
FORCE_ONLY_ATTRIBUTES = frozenset(
    {"PixelData", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "StudyID"}
)
SUPPORTED_SCHEMA_VERSIONS = (1.1, "1.1")


@dataclass(frozen=True)
class AttributeGroup:
    """One `DICOM` map of an update document and where it points."""

    level: Level
    attributes: dict[str, Any]
    vrs: dict[str, str] = field(default_factory=dict)
    series_uid: str | None = None
    instance_uid: str | None = None


@dataclass(frozen=True)
class NodeRemoval:
    """`{}` given for a series or an instance: remove the whole node."""

    series_uid: str
    instance_uid: str | None = None


@dataclass(frozen=True)
class UpdateDocument:
    groups: list[AttributeGroup]
    removals: list[NodeRemoval]

    def study_wide(self) -> UpdateDocument:
        """The Patient and Study parts, which `includeStudyImageSets` applies to the whole study."""
        groups = [g for g in self.groups if g.level in (Level.PATIENT, Level.STUDY)]
        return UpdateDocument(groups=groups, removals=[])


def parse_update_document(raw: bytes, member: str) -> UpdateDocument:
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValidationException(f"{member} is not a valid JSON document") from error
    if not isinstance(document, dict):
        raise ValidationException(f"{member} must be a JSON object")
    if "SchemaVersion" not in document:
        raise ValidationException(f"{member} requires SchemaVersion")
    if document["SchemaVersion"] not in SUPPORTED_SCHEMA_VERSIONS:
        raise ValidationException(f"{member} has an unsupported SchemaVersion")
    _expect_keys(document, {"SchemaVersion", "Patient", "Study"}, member)
    groups: list[AttributeGroup] = []
    removals: list[NodeRemoval] = []
    patient = _expect_object(document.get("Patient", {}), f"{member} Patient")
    _expect_keys(patient, {"DICOM"}, f"{member} Patient")
    if "DICOM" in patient:
        groups.append(AttributeGroup(Level.PATIENT, _dicom_map(patient, member)))
    study = _expect_object(document.get("Study", {}), f"{member} Study")
    _expect_keys(study, {"DICOM", "Series"}, f"{member} Study")
    if "DICOM" in study:
        groups.append(AttributeGroup(Level.STUDY, _dicom_map(study, member)))
    series_map = _expect_object(study.get("Series", {}), f"{member} Series")
    for series_uid, series in series_map.items():
        _parse_series(series_uid, _expect_object(series, f"{member} Series"), member, groups, removals)
    return UpdateDocument(groups=groups, removals=removals)


def _parse_series(
    series_uid: str,
    series: dict[str, Any],
    member: str,
    groups: list[AttributeGroup],
    removals: list[NodeRemoval],
) -> None:
    if not series:
        removals.append(NodeRemoval(series_uid))
        return
    _expect_keys(series, {"DICOM", "Instances"}, f"{member} Series")
    if "DICOM" in series:
        groups.append(AttributeGroup(Level.SERIES, _dicom_map(series, member), series_uid=series_uid))
    instances = _expect_object(series.get("Instances", {}), f"{member} Instances")
    for instance_uid, instance_node in instances.items():
        instance = _expect_object(instance_node, f"{member} Instances")
        if not instance:
            removals.append(NodeRemoval(series_uid, instance_uid))
            continue
        _expect_keys(instance, {"DICOM", "DICOMVRs"}, f"{member} Instances")
        vrs = _expect_object(instance.get("DICOMVRs", {}), f"{member} DICOMVRs")
        groups.append(
            AttributeGroup(Level.INSTANCE, _dicom_map(instance, member), vrs, series_uid, instance_uid)
        )


def _dicom_map(node: dict[str, Any], member: str) -> dict[str, Any]:
    return _expect_object(node.get("DICOM", {}), f"{member} DICOM")


def _expect_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationException(f"{where} must be a JSON object")
    return value


def _expect_keys(node: dict[str, Any], allowed: set[str], where: str) -> None:
    unexpected = sorted(set(node) - allowed)
    if unexpected:
        raise ValidationException(f"{where} contains keys that cannot be updated: {', '.join(unexpected)}")


def check_update(update: UpdateDocument, current: MetadataDocument, force: bool, member: str) -> None:
    """The synchronous checks: raise ValidationException for the first violation."""
    for removal in update.removals:
        _check_node_exists(current, removal.series_uid, removal.instance_uid, member)
    for group in update.groups:
        if group.series_uid is not None:
            _check_node_exists(current, group.series_uid, group.instance_uid, member)
        for key, value in group.attributes.items():
            _check_attribute(group.level, key, value, force, member)
        for key in group.vrs:
            if key not in group.attributes:
                raise ValidationException(f"{member} DICOMVRs names {key} without a DICOM value")


def _check_node_exists(
    current: MetadataDocument, series_uid: str, instance_uid: str | None, member: str
) -> None:
    series = current.get("Study", {}).get("Series", {}).get(series_uid)
    if series is None:
        raise ValidationException(f"{member} names a series the image set does not contain")
    if instance_uid is not None and instance_uid not in series.get("Instances", {}):
        raise ValidationException(f"{member} names an instance the image set does not contain")


def _check_attribute(level: Level, key: str, value: Any, force: bool, member: str) -> None:
    if key in GENERATED_ATTRIBUTES:
        raise ValidationException(f"{member}: {key} is generated by HealthImaging and cannot be updated")
    needs_force = _reason_force_is_needed(level, key, value, member)
    if needs_force is not None and not force:
        raise ValidationException(f"{member}: {key} {needs_force}, which requires force")


def _reason_force_is_needed(level: Level, key: str, value: Any, member: str) -> str | None:
    if is_tag_key(key):
        if level is not Level.INSTANCE:
            raise ValidationException(f"{member}: {key} is not a {level.value} level attribute")
        return "is a private attribute of an instance" if is_private_tag_key(key) else "is not a keyword"
    if not is_standard_keyword(key):
        return "is not a standard DICOM attribute"
    if level_of(key) is not level:
        raise ValidationException(f"{member}: {key} is not a {level.value} level attribute")
    if key in FORCE_ONLY_ATTRIBUTES:
        return "is protected"
    if standard_vr(key) == "SQ":
        return "is a sequence"
    if isinstance(value, list):
        return "is multi-valued"
    return None


def value_problems(update: UpdateDocument) -> list[str]:
    """Attributes whose value does not fit the VR (only checked when the update is not forced)."""
    problems = []
    for group in update.groups:
        for key, value in group.attributes.items():
            vr = group.vrs.get(key) or standard_vr(key)
            if vr is not None and not is_compatible(vr, value):
                problems.append(f"Attribute {key} value is not compatible with VR {vr}")
    return problems


def apply_removals(document: MetadataDocument, update: UpdateDocument) -> list[str]:
    """Remove in place; returns the attributes that could not be removed (value mismatch)."""
    problems = []
    for group in update.groups:
        node = _node(document, group)
        dicom = node.get("DICOM", {})
        for key, value in group.attributes.items():
            if key not in dicom or dicom[key] != value:
                problems.append(f"Attribute {key} to remove does not match the stored attribute")
                continue
            del dicom[key]
            node.get("DICOMVRs", {}).pop(key, None)
    for removal in update.removals:
        series_map = document["Study"]["Series"]
        if removal.instance_uid is None:
            series_map.pop(removal.series_uid, None)
        else:
            series_map[removal.series_uid]["Instances"].pop(removal.instance_uid, None)
    return problems


def apply_updates(document: MetadataDocument, update: UpdateDocument) -> list[str]:
    """Merge in place; returns problems found while re-keying changed UIDs."""
    problems = []
    for group in update.groups:
        node = _node(document, group)
        node.setdefault("DICOM", {}).update(copy.deepcopy(group.attributes))
        if group.vrs:
            node.setdefault("DICOMVRs", {}).update(group.vrs)
        problems.extend(_rekey_changed_uid(document, group))
    return problems


def _node(document: MetadataDocument, group: AttributeGroup) -> dict[str, Any]:
    if group.level is Level.PATIENT:
        node: dict[str, Any] = document.setdefault("Patient", {})
        return node
    study: dict[str, Any] = document.setdefault("Study", {})
    if group.series_uid is None:
        return study
    series: dict[str, Any] = study["Series"][group.series_uid]
    if group.instance_uid is None:
        return series
    instance: dict[str, Any] = series["Instances"][group.instance_uid]
    return instance


def _rekey_changed_uid(document: MetadataDocument, group: AttributeGroup) -> list[str]:
    """Series and instances are keyed by their UID: a forced UID change moves the node."""
    if group.level is Level.SERIES and "SeriesInstanceUID" in group.attributes:
        container, old_key, new_key = (
            document["Study"]["Series"],
            group.series_uid,
            group.attributes["SeriesInstanceUID"],
        )
    elif group.level is Level.INSTANCE and "SOPInstanceUID" in group.attributes:
        container = document["Study"]["Series"][group.series_uid]["Instances"]
        old_key, new_key = group.instance_uid, group.attributes["SOPInstanceUID"]
    else:
        return []
    if not isinstance(new_key, str) or new_key == old_key:
        return []
    if new_key in container:
        return [
            f"Attribute {'SeriesInstanceUID' if group.level is Level.SERIES else 'SOPInstanceUID'} "
            "collides with an existing UID"
        ]
    container[new_key] = container.pop(old_key)
    return []
