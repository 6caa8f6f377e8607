"""In-memory fakes of the domain's ports, on one virtual clock (nothing real waits or talks HTTP).

`FakeImageSets` keeps each image set's versions and locks them until their settle time; faults are
armed one call at a time (`fail_next`). `Crash` stands for the execution environment dying at a
point a test chooses: it is a BaseException, so no `except Exception` in the domain can swallow it,
just as nothing survives a real crash.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from updater.domain.errors import (
    ConflictError,
    FailureCode,
    PermanentServiceError,
    RetryableServiceError,
    ThrottledError,
)
from updater.domain.image_set import ImageSetVersion
from updater.domain.ledger import (
    TERMINAL,
    LaneKey,
    LaneState,
    LedgerEntry,
    LedgerStatus,
    Notice,
    OpenedEntry,
    PendingCall,
    StoredOutcome,
)
from updater.domain.outcome import UpdateOutcome
from updater.domain.planning import level_nodes


class Crash(BaseException):
    """The invocation died here (timeout, out of memory, a lost host)."""


class VirtualClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.slept.append(seconds)
        self.t += seconds

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class _Version:
    document: dict[str, Any]
    settles_at: float
    status: str = "UPDATED"  # what the version becomes once settled
    message: str | None = None


@dataclass
class _ImageSet:
    versions: list[_Version]


class FakeImageSets:
    """HealthImaging for one data store: versions, locks while updating, conflicts on stale writes."""

    def __init__(self, clock: VirtualClock, *, settle_s: float = 1.0, primary: bool = True) -> None:
        self._clock = clock
        self.primary = primary
        self.strict_primary = False  # the newest guide: no Patient-level changes on primary image sets
        self.settle_s = settle_s
        self._sets: dict[tuple[str, str], _ImageSet] = {}
        self.calls: Counter[str] = Counter()
        self._faults: list[tuple[str, Callable[[], None] | BaseException, bool]] = []
        self.next_status = "UPDATED"

    def add(self, datastore_id: str, image_set_id: str, document: dict[str, Any]) -> None:
        self._sets[(datastore_id, image_set_id)] = _ImageSet(
            [_Version(copy.deepcopy(document), 0.0, "CREATED")]
        )

    def fail_next(self, operation: str, error: BaseException, *, after_landing: bool = False) -> None:
        """The next `operation` raises `error`; `after_landing`: the update lands first (a lost answer)."""
        self._faults.append((operation, error, after_landing))

    def external_update(self, datastore_id: str, image_set_id: str, dicom: Mapping[str, Any]) -> None:
        """Another writer (not the updater) changes Patient attributes."""
        image_set = self._sets[(datastore_id, image_set_id)]
        document = copy.deepcopy(image_set.versions[-1].document)
        document.setdefault("Patient", {}).setdefault("DICOM", {}).update(dicom)
        image_set.versions.append(_Version(document, self._clock.now() + self.settle_s))

    def settle_times(self, datastore_id: str, image_set_id: str) -> list[tuple[str, float, str]]:
        """(version id, when it settles, what it becomes) of every version an update made."""
        image_set = self._sets[(datastore_id, image_set_id)]
        return [(str(i + 1), v.settles_at, v.status) for i, v in enumerate(image_set.versions) if i]

    def versions(self, datastore_id: str, image_set_id: str) -> int:
        return len(self._sets[(datastore_id, image_set_id)].versions)

    def document(self, datastore_id: str, image_set_id: str, version_id: str | None = None) -> dict[str, Any]:
        image_set = self._sets[(datastore_id, image_set_id)]
        index = len(image_set.versions) if version_id is None else int(version_id)
        return copy.deepcopy(image_set.versions[index - 1].document)

    def _fault(self, operation: str) -> tuple[BaseException, bool] | None:
        for index, (name, error, after) in enumerate(self._faults):
            if name == operation:
                del self._faults[index]
                assert isinstance(error, BaseException)
                return error, after
        return None

    def _image_set(self, datastore_id: str, image_set_id: str) -> _ImageSet:
        found = self._sets.get((datastore_id, image_set_id))
        if found is None:
            raise PermanentServiceError(
                "ResourceNotFoundException", "no such image set", FailureCode.IMAGE_SET_NOT_FOUND
            )
        return found

    def _describe(self, image_set: _ImageSet, index: int) -> ImageSetVersion:
        version = image_set.versions[index - 1]
        settled = self._clock.now() >= version.settles_at
        locked = any(self._clock.now() < v.settles_at for v in image_set.versions)
        return ImageSetVersion(
            version_id=str(index),
            state="LOCKED" if locked and index == len(image_set.versions) else "ACTIVE",
            workflow_status=version.status if settled else "UPDATING",
            message=version.message if settled else None,
            is_primary=self.primary,
        )

    def get_image_set(
        self, datastore_id: str, image_set_id: str, version_id: str | None = None
    ) -> ImageSetVersion:
        self.calls["GetImageSet"] += 1
        fault = self._fault("GetImageSet")
        if fault:
            raise fault[0]
        image_set = self._image_set(datastore_id, image_set_id)
        index = len(image_set.versions) if version_id is None else int(version_id)
        if not 1 <= index <= len(image_set.versions):
            raise PermanentServiceError(
                "ResourceNotFoundException", "no such version", FailureCode.IMAGE_SET_NOT_FOUND
            )
        return self._describe(image_set, index)

    def get_metadata(
        self, datastore_id: str, image_set_id: str, version_id: str | None = None
    ) -> dict[str, Any]:
        self.calls["GetImageSetMetadata"] += 1
        fault = self._fault("GetImageSetMetadata")
        if fault:
            raise fault[0]
        image_set = self._image_set(datastore_id, image_set_id)
        index = len(image_set.versions) if version_id is None else int(version_id)
        if not 1 <= index <= len(image_set.versions):
            raise PermanentServiceError(
                "ResourceNotFoundException", "no such version", FailureCode.IMAGE_SET_NOT_FOUND
            )
        return copy.deepcopy(image_set.versions[index - 1].document)

    def update(
        self,
        datastore_id: str,
        image_set_id: str,
        *,
        latest_version_id: str,
        updates: dict[str, Any],
        force: bool,
        include_study_image_sets: bool,
    ) -> ImageSetVersion:
        self.calls["UpdateImageSetMetadata"] += 1
        fault = self._fault("UpdateImageSetMetadata")
        if fault and not fault[1]:
            raise fault[0]
        image_set = self._image_set(datastore_id, image_set_id)
        latest = len(image_set.versions)
        blobs = updates.get("DICOMUpdates", {})
        if self.strict_primary and self.primary and any(b'"Patient"' in blob for blob in blobs.values()):
            raise PermanentServiceError(
                "ValidationException", "Primary image set: Patient level", FailureCode.SERVICE_REJECTED
            )
        if self._clock.now() < image_set.versions[-1].settles_at or str(latest) != latest_version_id:
            raise ConflictError("ConflictException", "locked or stale")
        document = _updated(image_set, updates)
        image_set.versions.append(
            _Version(
                document,
                self._clock.now() + self.settle_s,
                self.next_status,
                "a value does not fit its VR" if self.next_status == "UPDATE_FAILED" else None,
            )
        )
        if fault:  # landed, but the answer is lost (or the caller dies before reading it)
            raise fault[0]
        return ImageSetVersion(str(latest + 1), "LOCKED", "UPDATING")


def _updated(image_set: _ImageSet, updates: dict[str, Any]) -> dict[str, Any]:
    if "revertToVersionId" in updates:
        return copy.deepcopy(image_set.versions[int(updates["revertToVersionId"]) - 1].document)
    document = copy.deepcopy(image_set.versions[-1].document)
    blobs = updates["DICOMUpdates"]
    if "removableAttributes" in blobs:
        removals = json.loads(blobs["removableAttributes"])
        nodes = level_nodes(document)
        for key, node in level_nodes(removals).items():
            target = nodes.get(key)
            if target is not None:
                for name in node.dicom:
                    _dicom(document, target.path).pop(name, None)
    if "updatableAttributes" in blobs:
        changes = json.loads(blobs["updatableAttributes"])
        for node in level_nodes(changes).values():
            _dicom(document, node.path).update(copy.deepcopy(dict(node.dicom)))
    return document


def _dicom(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node = document
    for key in path:
        node = node.setdefault(key, {})
    return node.setdefault("DICOM", {})


class FakeLedger:
    """The Ledger port with DynamoDB's conditional semantics, in dicts."""

    def __init__(self) -> None:
        self.entries: dict[str, LedgerEntry] = {}
        self.lanes: dict[LaneKey, LaneState] = {}
        self.calls: Counter[str] = Counter()
        self.crash_on: str | None = None  # a method name: raise Crash instead of doing it
        self.waiting: dict[LaneKey, tuple[str, ...]] = {}

    def _hit(self, name: str) -> None:
        self.calls[name] += 1
        if self.crash_on == name:
            self.crash_on = None
            raise Crash(name)

    def open(
        self,
        request_id: str,
        *,
        digest: str,
        datastore_id: str,
        image_set_id: str,
        received_at_ms: int,
        parent_id: str | None = None,
    ) -> OpenedEntry:
        self._hit("open")
        if request_id in self.entries:
            existing = self.entries[request_id]
            if existing.parent_id is None and parent_id is not None:  # if_not_exists, as DynamoDB's
                self.entries[request_id] = replace(existing, parent_id=parent_id)
            return OpenedEntry(existing, created=False)
        entry = LedgerEntry(
            request_id, LedgerStatus.RECEIVED, received_at_ms, digest=digest, parent_id=parent_id
        )
        self.entries[request_id] = entry
        return OpenedEntry(entry, created=True)

    def get(self, request_id: str) -> LedgerEntry | None:
        self._hit("get")
        return self.entries.get(request_id)

    def record_outcome(
        self, request_id: str, status: LedgerStatus, outcome: Mapping[str, Any]
    ) -> StoredOutcome:
        self._hit("record_outcome")
        existing = self.entries.get(request_id)
        if existing is not None and existing.outcome is not None:
            return StoredOutcome(existing, stored=False)
        base = existing or LedgerEntry(request_id, LedgerStatus.RECEIVED, 0)
        entry = replace(base, status=status, outcome=json.loads(json.dumps(outcome)), published=False)
        self.entries[request_id] = entry
        return StoredOutcome(entry, stored=True)

    def mark_published(self, request_id: str) -> None:
        self._hit("mark_published")
        self.entries[request_id] = replace(self.entries[request_id], published=True)

    def mark_published_many(self, request_ids: Sequence[str]) -> None:
        self._hit("mark_published")  # one write (a transaction): all or none
        for request_id in request_ids:
            self.entries[request_id] = replace(self.entries[request_id], published=True)

    def mark_applied(self, request_id: str, call: PendingCall) -> None:
        self._hit("mark_applied")
        entry = self.entries.get(request_id) or LedgerEntry(request_id, LedgerStatus.RECEIVED, 0)
        if entry.status in TERMINAL:
            return
        self.entries[request_id] = replace(entry, status=LedgerStatus.APPLIED, applied=call)

    def read_unit(
        self, lane: LaneKey, request_ids: Sequence[str]
    ) -> tuple[LaneState, dict[str, LedgerEntry]]:
        self._hit("read_unit")
        return self.lanes.get(lane, LaneState(lane)), {
            r: self.entries[r] for r in request_ids if r in self.entries
        }

    def _lane(self, lane: LaneKey) -> LaneState:
        return self.lanes.get(lane, LaneState(lane))

    def begin_call(self, lane: LaneKey, call: PendingCall) -> None:
        self._hit("begin_call")
        state = self._lane(lane)
        if state.call is not None:
            raise RetryableServiceError("ConditionalCheckFailedException", "a call is open")
        self.lanes[lane] = LaneState(lane, call, None, None, retries=state.retries)  # the version will change
        self.waiting.pop(lane, None)

    def save_call(self, lane: LaneKey, call: PendingCall) -> None:
        self._hit("save_call")
        state = self._lane(lane)
        if state.call is not None and state.call.call_id == call.call_id:
            self.lanes[lane] = replace(state, call=call, retries=0)

    def end_call(
        self, lane: LaneKey, call_id: str, *, settled_version_id: str | None, is_primary: bool | None = None
    ) -> None:
        self._hit("end_call")
        state = self._lane(lane)
        if state.call is not None and state.call.call_id == call_id:
            settled = settled_version_id or state.settled_version_id
            retries = 0 if settled_version_id is not None else state.retries
            self.lanes[lane] = LaneState(lane, None, state.turn_at_ms, settled, is_primary, retries=retries)
            self.waiting.pop(lane, None)

    def note_retry(self, lane: LaneKey) -> int:
        self._hit("note_retry")
        state = self._lane(lane)
        self.lanes[lane] = replace(state, retries=state.retries + 1)
        return state.retries + 1

    def set_turn(self, lane: LaneKey, turn_at_ms: int | None) -> None:
        self._hit("set_turn")
        state = self._lane(lane)
        self.lanes[lane] = replace(state, turn_at_ms=turn_at_ms)

    def _call_to(self, lane: LaneKey) -> str | None:
        call = self._lane(lane).call
        return None if call is None else str(int(call.base_version_id) + 1)

    def note_settled(
        self, lane: LaneKey, version_id: str, workflow_status: str, at_ms: int
    ) -> tuple[str, ...] | None:
        self._hit("note_settled")
        if self._call_to(lane) != version_id:
            return None
        self.lanes[lane] = replace(self._lane(lane), notice=Notice(version_id, workflow_status, at_ms))
        return tuple(self.waiting.get(lane, ()))

    def wait_for_notice(
        self, lane: LaneKey, call_id: str, waiters: Sequence[str], *, landed: PendingCall | None = None
    ) -> Notice | None:
        self._hit("wait_for_notice")
        state = self._lane(lane)
        if state.call is None or state.call.call_id != call_id:
            return None
        self.waiting[lane] = tuple(waiters)
        if landed is not None:
            state = replace(state, call=landed, retries=0)
            self.lanes[lane] = state
        return state.notice


class FakePacer:
    """GCRA on the virtual clock: `rate` calls a second, bursts of `burst`."""

    def __init__(self, clock: VirtualClock, *, rate: float = 10.0, burst: int = 1) -> None:
        self._clock = clock
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self._tat = 0.0
        self.ended: list[float] = []

    def reserve(self) -> float:
        now = self._clock.now()
        tat = max(self._tat, now)
        self._tat = tat + self._interval
        return max(now, tat - self._tolerance)

    def earliest_call(self) -> float:
        return 0.0

    def call_ended(self, at: float) -> None:
        self.ended.append(at)


@dataclass
class FakeLane:
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def send(self, group_id: str, dedup_id: str, body: str) -> None:
        self.sent.append((group_id, dedup_id, body))


@dataclass
class FakeEvents:
    published: list[UpdateOutcome] = field(default_factory=list)
    details: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    crash_next: bool = False
    calls: list[int] = field(default_factory=list)  # the outcomes of each publishing call

    def publish_many(self, outcomes: Sequence[UpdateOutcome]) -> list[str]:
        if self.crash_next:
            self.crash_next = False
            raise Crash("publish")
        self.calls.append(len(outcomes))
        self.published.extend(outcomes)
        return [outcome.request_id for outcome in outcomes]

    def publish_detail(self, detail_type: str, detail: dict[str, Any]) -> None:
        self.details.append((detail_type, detail))


@dataclass
class FakeFailures:
    records: list[tuple[str, str | None, str, str]] = field(default_factory=list)

    def send(self, body: str, *, request_id: str | None, code: str, message: str) -> None:
        self.records.append((body, request_id, code, message))


@dataclass
class FakeAudit:
    records: list[Any] = field(default_factory=list)

    def record(self, record: Any) -> None:
        self.records.append(record)

    def by_request(self) -> dict[str, Any]:
        return {r.request_id: r for r in self.records}


@dataclass
class FakeMetrics:
    counts: Counter[str] = field(default_factory=Counter)

    def count(self, name: str, value: float = 1, reason: str | None = None) -> None:
        self.counts[name if reason is None else f"{name}:{reason}"] += int(value)

    def observe(self, name: str, value: float, unit: str) -> None:
        self.counts[f"observed:{name}"] += 1


__all__ = [
    "ConflictError",
    "Crash",
    "FakeAudit",
    "FakeEvents",
    "FakeFailures",
    "FakeImageSets",
    "FakeLane",
    "FakeLedger",
    "FakeMetrics",
    "FakePacer",
    "RetryableServiceError",
    "ThrottledError",
    "VirtualClock",
]
