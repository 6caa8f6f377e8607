"""Lost and doubled updates, read from the emulator's version history (not from what updaters claim).

Each request sets values no other request uses, so a version "applies" a request when one of the
request's values appears in it and was not in the version before. A request applied in no version
is lost; one applied in two versions (re-applied after someone else overwrote it) is doubled. A
version that changed nothing at all is an empty re-application: counted as doubled work too.

Coalescing merges requests of one image set into one call, a later value winning: a request whose
attribute a later member of its call also sets never shows its own value in any version. It is
*superseded*, not lost, when the version its outcome names holds, at that attribute, the value of
one of the requests its outcome says it shared the call with (checked against the history, not
taken on the updater's word alone).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.workloads import PlannedRequest
from local.healthimaging.records import ImageSetVersion


@dataclass(frozen=True)
class ReportedCall:
    """What a request's outcome says about its call: the version it made and who shared it."""

    to_version_id: str | None
    coalesced_with: tuple[str, ...]


@dataclass(frozen=True)
class IntegrityReport:
    applied: int
    superseded: int  # overwritten by a later member of its own coalesced call (see above)
    lost: int  # reported succeeded, yet no version holds the change
    not_applied: int  # no version holds the change (includes requests unfinished at the cap)
    doubled: int
    empty_versions: int
    failed_versions: int

    def as_json(self) -> dict[str, int]:
        return {
            "applied": self.applied,
            "superseded": self.superseded,
            "lost": self.lost,
            "notApplied": self.not_applied,
            "doubled": self.doubled,
            "emptyVersions": self.empty_versions,
            "failedVersions": self.failed_versions,
        }


def _value(document: dict[str, Any], level: str, keyword: str) -> Any:
    return document.get(level, {}).get("DICOM", {}).get(keyword)


def _superseded(
    request: PlannedRequest,
    call: ReportedCall | None,
    versions: list[ImageSetVersion],
    by_id: dict[str, PlannedRequest],
) -> bool:
    if call is None or not call.coalesced_with:
        return False
    version = next((v for v in versions if v.version_id == call.to_version_id), None)
    if version is None:
        return False
    level, keyword, _ = request.changes[0]
    held = _value(version.document, level, keyword)
    members = (by_id[m] for m in call.coalesced_with if m in by_id)
    return any((level, keyword, held) in member.changes for member in members)


def check_integrity(
    planned: list[PlannedRequest],
    histories: dict[str, list[ImageSetVersion]],
    succeeded: set[str],
    calls: dict[str, ReportedCall] | None = None,
) -> IntegrityReport:
    applications: Counter[str] = Counter()
    empty = failed = 0
    by_image_set: dict[str, list[PlannedRequest]] = {}
    for request in planned:
        by_image_set.setdefault(request.image_set_id, []).append(request)
    for image_set_id, versions in histories.items():
        requests = by_image_set.get(image_set_id, [])
        for previous, version in itertools.pairwise(versions):
            if version.workflow_status == "UPDATE_FAILED":
                failed += 1
                continue
            if version.document == previous.document:
                empty += 1
                continue
            for request in requests:
                level, keyword, value = request.changes[0]
                if (
                    _value(version.document, level, keyword)
                    == value
                    != _value(previous.document, level, keyword)
                ):
                    applications[request.request_id] += 1
    calls = calls or {}
    by_id = {request.request_id: request for request in planned}
    superseded = {
        request.request_id
        for request in planned
        if applications[request.request_id] == 0
        and _superseded(request, calls.get(request.request_id), histories[request.image_set_id], by_id)
    }
    not_applied = [
        r.request_id for r in planned if applications[r.request_id] == 0 and r.request_id not in superseded
    ]
    lost = sum(1 for request_id in not_applied if request_id in succeeded)
    doubled = sum(1 for count in applications.values() if count > 1) + empty
    return IntegrityReport(len(applications), len(superseded), lost, len(not_applied), doubled, empty, failed)
