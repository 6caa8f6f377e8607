"""Reading a HealthImaging metadata document and collecting the changes one source makes to it.

A change is recorded only when it differs from the current value, so a replayed import (whose changes
were already applied) plans nothing. `MetadataChanges` then renders the `DICOMUpdates` member of an
`UpdateRequest`: `updatableAttributes` and `removableAttributes` shaped like the metadata document,
removals carrying the current value because the service only removes on an exact key/value match.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from updater.imports.levels import AttributeLevel

# Metadata documents carry "1.1" as a string; every AWS update example sends the number.
UPDATE_SCHEMA_VERSION = 1.1

# Where a DICOM map sits in the document: ("Patient",), ("Study",), ("Study", "Series", uid),
# ("Study", "Series", uid, "Instances", sop_uid).
NodePath = tuple[str, ...]


def dicom_text(value: Any) -> str:
    """The DICOM text form of a metadata value, for comparisons: trailing padding and null ignored."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "\\".join(dicom_text(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).rstrip(" \x00")


@dataclass(frozen=True)
class ImageSetDocument:
    """Read access to one image set's metadata document (as GetImageSetMetadata returns it)."""

    document: Mapping[str, Any]

    @property
    def study_instance_uid(self) -> str:
        return dicom_text(self._dicom(("Study",)).get("StudyInstanceUID"))

    def series_uids(self) -> list[str]:
        series = self.document.get("Study", {}).get("Series", {})
        return list(series) if isinstance(series, Mapping) else []

    def instance_paths(self) -> Iterator[tuple[str, NodePath]]:
        """(SOPInstanceUID, path) of every instance."""
        for series_uid in self.series_uids():
            instances = self.document["Study"]["Series"][series_uid].get("Instances", {})
            for sop_uid in instances if isinstance(instances, Mapping) else {}:
                yield sop_uid, ("Study", "Series", series_uid, "Instances", sop_uid)

    def paths_at(self, level: AttributeLevel) -> list[NodePath]:
        """Every node holding attributes of `level` (one for Patient/Study, one per series/instance)."""
        if level in (AttributeLevel.PATIENT, AttributeLevel.STUDY):
            return [(level.value,)]
        if level is AttributeLevel.SERIES:
            return [("Study", "Series", uid) for uid in self.series_uids()]
        return [path for _, path in self.instance_paths()]

    def values_of(self, keyword: str, level: AttributeLevel) -> list[Any]:
        """The values of `keyword` wherever it is present at `level`."""
        return [node[keyword] for node in map(self._dicom, self.paths_at(level)) if keyword in node]

    def current(self, path: NodePath, keyword: str) -> tuple[bool, Any]:
        node = self._dicom(path)
        return keyword in node, node.get(keyword)

    def _dicom(self, path: NodePath) -> Mapping[str, Any]:
        node: Any = self.document
        for key in path:
            node = node.get(key, {}) if isinstance(node, Mapping) else {}
        dicom = node.get("DICOM", {}) if isinstance(node, Mapping) else {}
        return dicom if isinstance(dicom, Mapping) else {}


class MetadataChanges:
    """The attribute changes one source (a rule, a corrections file) makes to one image set."""

    def __init__(self, image_set: ImageSetDocument) -> None:
        self._image_set = image_set
        self._updates: dict[tuple[NodePath, str], Any] = {}
        self._removals: dict[tuple[NodePath, str], Any] = {}

    def set(self, path: NodePath, keyword: str, value: Any) -> None:
        """Set `keyword` at `path` to `value`, unless it already has that value."""
        self._removals.pop((path, keyword), None)
        present, current = self._image_set.current(path, keyword)
        if present and dicom_text(current) == dicom_text(value):
            self._updates.pop((path, keyword), None)
        else:
            self._updates[(path, keyword)] = value

    def remove(self, path: NodePath, keyword: str) -> None:
        """Remove `keyword` at `path` when it holds a value (an absent or empty one is left alone)."""
        self._updates.pop((path, keyword), None)
        present, current = self._image_set.current(path, keyword)
        if present and current is not None:
            self._removals[(path, keyword)] = current

    @property
    def changed_keywords(self) -> list[str]:
        return sorted({keyword for _, keyword in (*self._updates, *self._removals)})

    def __bool__(self) -> bool:
        return bool(self._updates or self._removals)

    def dicom_updates(self) -> dict[str, Any]:
        """The `DICOMUpdates` member: only the documents that hold something."""
        documents = {
            "updatableAttributes": _document(self._updates),
            "removableAttributes": _document(self._removals),
        }
        return {name: document for name, document in documents.items() if document is not None}


def _document(changes: Mapping[tuple[NodePath, str], Any]) -> dict[str, Any] | None:
    if not changes:
        return None
    document: dict[str, Any] = {"SchemaVersion": UPDATE_SCHEMA_VERSION}
    for (path, keyword), value in changes.items():
        node = document
        for key in path:
            node = node.setdefault(key, {})
        node.setdefault("DICOM", {})[keyword] = value
    return document
