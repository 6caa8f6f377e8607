"""Coalescing: pending requests for one image set that can go in one UpdateImageSetMetadata call.

At 0.25 update calls per second per account, each call is precious. Requests in one batch that
touch the same image set, with the same `force` / `includeStudyImageSets`, no revert, no pin and no
dry run, are merged into one call when their documents agree. When two requests set one attribute
to different values they are merged only where the order is known (a FIFO group: the later one
wins); on a standard queue they stay apart. A merge that would pass the payload limit is split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from updater.domain.request import DicomUpdates, UpdateRequest, compact_json

# Maps whose values are DICOM attribute values (leaves), not further levels of the document.
_LEAF_MAPS = frozenset({"DICOM", "DICOMVRs"})


class _Conflict(Exception):
    pass


@dataclass(frozen=True)
class CoalescedGroup:
    members: tuple[UpdateRequest, ...]
    merged: UpdateRequest  # the request actually sent; a single member is sent as is

    @property
    def coalesced(self) -> bool:
        return len(self.members) > 1


def coalescible(request: UpdateRequest) -> bool:
    return (
        request.dicom_updates is not None
        and not request.is_revert
        and request.expected_version_id is None
        and not request.dry_run
        # Preconditions hold on the version a call is based on: such a request heads its own call.
        and request.expect is None
        and request.matched_by is None
    )


def _group_key(request: UpdateRequest) -> tuple[str, str, bool, bool]:
    return (request.datastore_id, request.image_set_id, request.force, request.include_study_image_sets)


def _merge_into(target: dict[str, Any], other: Mapping[str, Any], *, later_wins: bool, leaves: bool) -> None:
    for key, value in other.items():
        if key not in target:
            target[key] = value
        elif leaves or key == "SchemaVersion":
            if target[key] != value and not (leaves and later_wins):
                raise _Conflict(key)
            target[key] = value
        elif isinstance(value, Mapping) and isinstance(target[key], Mapping):
            # `{}` for a series or instance means "remove it": never blend it with attribute changes.
            if (not value) != (not target[key]):
                raise _Conflict(key)
            merged = dict(target[key])
            _merge_into(merged, value, later_wins=later_wins, leaves=key in _LEAF_MAPS)
            target[key] = merged
        else:
            raise _Conflict(key)


def _leaf_paths(document: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in document.items():
        if key == "SchemaVersion":
            continue
        if key in _LEAF_MAPS and isinstance(value, Mapping):
            yield from ((*prefix, key, attribute) for attribute in value)
        elif isinstance(value, Mapping) and value:
            yield from _leaf_paths(value, (*prefix, key))
        else:
            yield (*prefix, key)


def _merge_documents(
    first: Mapping[str, Any] | None, second: Mapping[str, Any] | None, *, later_wins: bool
) -> dict[str, Any] | None:
    if first is None or second is None:
        only = first if first is not None else second
        return None if only is None else dict(only)
    merged = dict(first)
    _merge_into(merged, second, later_wins=later_wins, leaves=False)
    return merged


def _merge_pair(base: UpdateRequest, other: UpdateRequest, *, later_wins: bool, limit: int) -> UpdateRequest:
    assert base.dicom_updates is not None and other.dicom_updates is not None
    updatable = _merge_documents(
        base.dicom_updates.updatable_attributes,
        other.dicom_updates.updatable_attributes,
        later_wins=later_wins,
    )
    removable = _merge_documents(
        base.dicom_updates.removable_attributes, other.dicom_updates.removable_attributes, later_wins=False
    )
    if updatable and removable and set(_leaf_paths(updatable)) & set(_leaf_paths(removable)):
        raise _Conflict("updated and removed in one call")
    for document in (updatable, removable):
        if document is not None and len(compact_json(document)) > limit:
            raise _Conflict("payload limit")
    updates = DicomUpdates(updatable_attributes=updatable, removable_attributes=removable)
    return base.model_copy(update={"dicom_updates": updates})


def _finish(members: list[UpdateRequest], merged: UpdateRequest) -> CoalescedGroup:
    if len(members) == 1:
        return CoalescedGroup((members[0],), members[0])
    ids = "\n".join(member.request_id for member in members)
    merged_id = "coalesced-" + hashlib.sha256(ids.encode()).hexdigest()[:40]
    return CoalescedGroup(tuple(members), merged.model_copy(update={"request_id": merged_id}))


def coalesce(requests: Sequence[UpdateRequest], *, ordered: bool, payload_limit: int) -> list[CoalescedGroup]:
    """Group requests (in arrival order) into calls; every request lands in exactly one group."""
    open_groups: dict[tuple[str, str, bool, bool], tuple[list[UpdateRequest], UpdateRequest]] = {}
    done: list[CoalescedGroup] = []
    for request in requests:
        if not coalescible(request):
            done.append(CoalescedGroup((request,), request))
            continue
        key = _group_key(request)
        if key in open_groups:
            members, merged = open_groups[key]
            try:
                open_groups[key] = (
                    [*members, request],
                    _merge_pair(merged, request, later_wins=ordered, limit=payload_limit),
                )
                continue
            except _Conflict:
                done.append(_finish(members, merged))
        open_groups[key] = ([request], request)
    done.extend(_finish(members, merged) for members, merged in open_groups.values())
    return done
