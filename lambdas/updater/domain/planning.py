"""What a request would change in an image set's current metadata, computed before any write.

The plan names attributes, never values, under level keys:

* ``"Patient"``, ``"Study"``: the two top levels;
* ``"Series/<SeriesInstanceUID>"``: one series;
* ``"Instance/<SeriesInstanceUID>/<SOPInstanceUID>"``: one instance.

A whole series or instance that is removed (or, for a revert, restored) is listed under its parent's key as
``"Series <uid>"`` / ``"Instance <uid>"``. Values compare DICOM-wise: trailing padding is insignificant,
an empty string equals null, and a numeric string equals the same number (IS/DS come back padded).
A plan with nothing to change and no failures is a no-op: the updater then succeeds without a new version.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from updater.domain.errors import FailureCode, ValidationFailure
from updater.domain.request import UpdateRequest
from updater.domain.validation.keywords import is_tag_shaped
from updater.domain.validation.levels import Level


@dataclass(frozen=True)
class UpdatePlan:
    noop: bool
    changed: dict[str, list[str]] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)
    failures: tuple[ValidationFailure, ...] = ()


@dataclass(frozen=True)
class LevelNode:
    """One level object of a document, addressed by its plan key."""

    key: str
    level: Level
    path: tuple[str, ...]  # keys leading to it in the document
    parent: str | None
    label: str  # how the parent lists it when it is removed or restored
    node: Mapping[str, Any]

    @property
    def dicom(self) -> Mapping[str, Any]:
        value = self.node.get("DICOM")
        return value if isinstance(value, Mapping) else {}

    @property
    def vrs(self) -> Mapping[str, Any]:
        value = self.node.get("DICOMVRs")
        return value if isinstance(value, Mapping) else {}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def level_nodes(document: Mapping[str, Any]) -> dict[str, LevelNode]:
    """Every level object of a document (request or metadata) keyed by plan key, parents first."""
    nodes: dict[str, LevelNode] = {}
    for name, level in (("Patient", Level.PATIENT), ("Study", Level.STUDY)):
        if isinstance(document.get(name), Mapping):
            nodes[name] = LevelNode(name, level, (name,), None, name, document[name])
    study = _mapping(document.get("Study"))
    for series_uid, series in _mapping(study.get("Series")).items():
        series_key = f"Series/{series_uid}"
        series_node = _mapping(series)
        path = ("Study", "Series", series_uid)
        nodes[series_key] = LevelNode(
            series_key, Level.SERIES, path, "Study", f"Series {series_uid}", series_node
        )
        for sop_uid, instance in _mapping(series_node.get("Instances")).items():
            key = f"Instance/{series_uid}/{sop_uid}"
            nodes[key] = LevelNode(
                key,
                Level.INSTANCE,
                (*path, "Instances", sop_uid),
                series_key,
                f"Instance {sop_uid}",
                _mapping(instance),
            )
    return nodes


def values_equal(left: Any, right: Any) -> bool:
    """DICOM-aware equality of two metadata values (see module docstring)."""
    if isinstance(left, str) and isinstance(right, str):
        return left.rstrip(" \x00") == right.rstrip(" \x00")
    if left in (None, "") and right in (None, ""):
        return True
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, str) != isinstance(right, str) and {type(left), type(right)} & {int, float}:
        text, number = (left, right) if isinstance(left, str) else (right, left)
        try:
            return isinstance(text, str) and float(text.strip()) == float(number)
        except ValueError:
            return False
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(values_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(values_equal(left[k], right[k]) for k in left)
    return bool(type(left) is type(right) and left == right)


class _PlanBuilder:
    def __init__(self) -> None:
        self.changed: dict[str, list[str]] = {}
        self.removed: dict[str, list[str]] = {}
        self.failures: list[ValidationFailure] = []

    def change(self, key: str, name: str) -> None:
        self.changed.setdefault(key, []).append(name)

    def remove(self, key: str, name: str) -> None:
        self.removed.setdefault(key, []).append(name)

    def fail(self, code: FailureCode, location: str, rule: str) -> None:
        self.failures.append(ValidationFailure(code, location, f"{location} {rule}"))

    def plan(self) -> UpdatePlan:
        noop = not (self.changed or self.removed or self.failures)
        return UpdatePlan(noop, self.changed, self.removed, tuple(self.failures))


def _location(document_name: str, node: LevelNode) -> str:
    return ".".join(("DICOMUpdates", document_name, *node.path))


def _missing_targets(
    builder: _PlanBuilder, requested: dict[str, LevelNode], current: dict[str, LevelNode], document_name: str
) -> Iterator[tuple[LevelNode, LevelNode | None]]:
    """Pair each requested level with the current one, reporting series/instances the image set lacks."""
    for key, node in requested.items():
        existing = current.get(key)
        if existing is not None or node.level in (Level.PATIENT, Level.STUDY):
            yield node, existing
        elif node.parent is not None and node.parent.startswith("Series/") and node.parent not in current:
            continue  # its series is already reported missing
        else:
            code = FailureCode.SERIES_NOT_IN_IMAGE_SET
            if node.level is Level.INSTANCE:
                code = FailureCode.INSTANCE_NOT_IN_IMAGE_SET
            builder.fail(
                code, _location(document_name, node), f"is not a {node.level.value.lower()} of the image set"
            )
            yield node, None


def _plan_updatable(
    builder: _PlanBuilder, document: Mapping[str, Any], current: dict[str, LevelNode]
) -> None:
    for node, existing in _missing_targets(builder, level_nodes(document), current, "updatableAttributes"):
        if existing is None and node.level in (Level.SERIES, Level.INSTANCE):
            continue
        stored = existing.dicom if existing else {}
        stored_vrs = {k.upper(): v for k, v in (existing.vrs if existing else {}).items()}
        requested_vrs = {k.upper(): v for k, v in node.vrs.items()}
        for name, value in node.dicom.items():
            tag = name.upper()
            if (
                is_tag_shaped(name)
                and name not in stored
                and tag not in requested_vrs
                and tag not in stored_vrs
            ):
                location = f"{_location('updatableAttributes', node)}.DICOM.{name}"
                builder.fail(
                    FailureCode.PRIVATE_TAG_VR_MISSING, location, "is a new private tag without DICOMVRs"
                )
            vr_changes = tag in requested_vrs and stored_vrs.get(tag) != requested_vrs[tag]
            if name not in stored or not values_equal(stored[name], value) or vr_changes:
                builder.change(node.key, name)


def _plan_removable(
    builder: _PlanBuilder, document: Mapping[str, Any], current: dict[str, LevelNode]
) -> None:
    for node, existing in _missing_targets(
        builder, _removal_targets(document), current, "removableAttributes"
    ):
        if existing is None:
            continue
        for name, value in node.dicom.items():
            if name not in existing.dicom:
                continue  # already absent: the removal is done
            if values_equal(existing.dicom[name], value):
                builder.remove(node.key, name)
            else:
                location = f"{_location('removableAttributes', node)}.DICOM.{name}"
                builder.fail(FailureCode.REMOVABLE_VALUE_MISMATCH, location, "differs from the stored value")
    whole = _whole_removals(document)
    for node in whole:
        if node.key in current and node.parent is not None:
            builder.remove(node.parent, node.label)


def _whole_removals(document: Mapping[str, Any]) -> list[LevelNode]:
    # An empty object for a series or instance in removableAttributes removes it entirely.
    return [
        n for n in level_nodes(document).values() if n.level in (Level.SERIES, Level.INSTANCE) and not n.node
    ]


def _removal_targets(document: Mapping[str, Any]) -> dict[str, LevelNode]:
    whole = {node.key for node in _whole_removals(document)}
    return {key: node for key, node in level_nodes(document).items() if key not in whole}


def plan_update(request: UpdateRequest, current: Mapping[str, Any]) -> UpdatePlan:
    """Plan a DICOMUpdates request against the image set's current metadata document."""
    if request.is_revert or request.dicom_updates is None:
        raise ValueError("plan_update plans DICOMUpdates; use plan_revert for revertToVersionId")
    builder = _PlanBuilder()
    existing = level_nodes(current)
    if request.dicom_updates.removable_attributes is not None:
        _plan_removable(builder, request.dicom_updates.removable_attributes, existing)
    if request.dicom_updates.updatable_attributes is not None:
        _plan_updatable(builder, request.dicom_updates.updatable_attributes, existing)
    return builder.plan()


def _same_attribute(before: LevelNode, after: LevelNode, name: str) -> bool:
    if name not in before.dicom or before.vrs.get(name) != after.vrs.get(name):
        return False
    return values_equal(before.dicom[name], after.dicom[name])


def plan_revert(current: Mapping[str, Any], target: Mapping[str, Any]) -> UpdatePlan:
    """Plan reverting to ``target`` (the metadata of revertToVersionId): names that would differ."""
    builder = _PlanBuilder()
    now, then = level_nodes(current), level_nodes(target)
    for key in [*then, *(k for k in now if k not in then)]:
        before, after = now.get(key), then.get(key)
        if before is None or after is None:
            node = after or before
            assert node is not None
            if node.parent is not None and node.parent in now and node.parent in then:
                (builder.change if after else builder.remove)(node.parent, node.label)
            continue
        names = [*after.dicom, *(n for n in before.dicom if n not in after.dicom)]
        for name in names:
            if name not in after.dicom:
                builder.remove(key, name)
            elif not _same_attribute(before, after, name):
                builder.change(key, name)
    return builder.plan()
