"""What the domain needs from the outside world, as Protocols: adapters implement them with boto3,
tests with in-memory fakes on a virtual clock.

    ImageSets    HealthImaging (GetImageSet, GetImageSetMetadata, UpdateImageSetMetadata)
    Ledger       per-request entries and per-image-set lane state (one DynamoDB table)
    Pacer        the account-wide schedule of update calls
    Lane         the per-image-set FIFO queue between intake and apply
    OutcomeSink  outcome events (the outcome bus)
    FailureSink  explained failures for operators (the failures queue)
    FanOuts      a parent's fan-out: its children and their results (the ledger table)
    ImageSetSearch  SearchImageSets, paged within the read share
    MetricsSink  counters and observations (EMF)
    Clock        time, and the only sleep the domain may do (short, bounded)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from updater.domain.image_set import ImageSetVersion
from updater.domain.ledger import (
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

if TYPE_CHECKING:  # the fan-out's types: apply, which never fans out, need not import them
    from updater.domain.batch import ChildResult, FanOutPlan, FanOutRecord
    from updater.domain.selectors import SearchCriterion, SearchResult


class ImageSets(Protocol):
    def get_image_set(
        self, datastore_id: str, image_set_id: str, version_id: str | None = None
    ) -> ImageSetVersion: ...

    def get_metadata(
        self, datastore_id: str, image_set_id: str, version_id: str | None = None
    ) -> dict[str, Any]: ...

    def update(
        self,
        datastore_id: str,
        image_set_id: str,
        *,
        latest_version_id: str,
        updates: dict[str, Any],
        force: bool,
        include_study_image_sets: bool,
    ) -> ImageSetVersion: ...


class Ledger(Protocol):
    # -- requests ------------------------------------------------------------------------------
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
        """Create the entry, or return the one that exists (its digest decides whether it is the same
        request). `parent_id`: a fan-out's child, whose outcome its parent counts."""
        ...

    def get(self, request_id: str) -> LedgerEntry | None: ...

    def record_outcome(
        self, request_id: str, status: LedgerStatus, outcome: Mapping[str, Any]
    ) -> StoredOutcome:
        """Store the terminal outcome once; if one was stored first, say so and return it."""
        ...

    def mark_published(self, request_id: str) -> None: ...

    def mark_published_many(self, request_ids: Sequence[str]) -> None:
        """`mark_published` for each, in as few writes as the store allows."""
        ...

    def mark_applied(self, request_id: str, call: PendingCall) -> None:
        """A member of a coalesced call whose own message was not there when the call settled."""
        ...

    # -- lanes -----------------------------------------------------------------------------------
    def read_unit(
        self, lane: LaneKey, request_ids: Sequence[str]
    ) -> tuple[LaneState, dict[str, LedgerEntry]]: ...

    def begin_call(self, lane: LaneKey, call: PendingCall) -> None:
        """Record the call about to be made; fails if another call is recorded (lanes are exclusive)."""
        ...

    def save_call(self, lane: LaneKey, call: PendingCall) -> None:
        """Progress of the recorded call (its new version, polls); only while it is still the one."""
        ...

    def end_call(
        self, lane: LaneKey, call_id: str, *, settled_version_id: str | None, is_primary: bool | None = None
    ) -> None:
        """The call is resolved; remember the version it settled as (None: it never landed)."""
        ...

    def set_turn(self, lane: LaneKey, turn_at_ms: int | None) -> None: ...

    def note_retry(self, lane: LaneKey) -> int:
        """One more step in a row that could not go on; how many there have been."""
        ...

    def note_settled(
        self, lane: LaneKey, version_id: str, workflow_status: str, at_ms: int
    ) -> tuple[str, ...] | None:
        """Record a settle notice for the open call that makes `version_id`; the waiters it must
        wake, or None when no open call makes that version."""
        ...

    def wait_for_notice(
        self, lane: LaneKey, call_id: str, waiters: Sequence[str], *, landed: PendingCall | None = None
    ) -> Notice | None:
        """Register the waiters of the open call (and save it as `landed`, as `save_call` does);
        the notice if it was recorded already."""
        ...


class FanOuts(Protocol):
    """A parent's fan-out, on the parent's own ledger entry (domain.batch)."""

    def record_plan(self, parent_id: str, plan: FanOutPlan) -> FanOutRecord:
        """Record the children once; a plan recorded first wins and is returned."""
        ...

    def read(self, parent_id: str) -> FanOutRecord | None: ...

    def mark_sent(self, parent_id: str) -> None: ...

    def child_ended(self, parent_id: str, result: ChildResult) -> FanOutRecord | None:
        """Keep the child's result (the same child again writes the same result); the fan-out as it
        stands after, or None when the parent has none recorded."""
        ...


class ImageSetSearch(Protocol):
    def find(self, datastore_id: str, criterion: SearchCriterion, *, at_most: int) -> SearchResult:
        """The image sets matching `criterion`, at most `at_most` (`more` says there were others)."""
        ...


class Pacer(Protocol):
    def reserve(self) -> float:
        """Reserve the next slot for one update call; return when it is (epoch seconds)."""
        ...

    def earliest_call(self) -> float:
        """No call before this (epoch seconds): the last answered call's quota interval."""
        ...

    def call_ended(self, at: float) -> None: ...


class Lane(Protocol):
    def send(self, group_id: str, dedup_id: str, body: str) -> None: ...


class OutcomeSink(Protocol):
    def publish_many(self, outcomes: Sequence[UpdateOutcome]) -> list[str]:
        """Publish each (in as few calls as the bus allows); the request ids of those accepted.
        Raises RetryableServiceError only when none was."""
        ...

    def publish_detail(self, detail_type: str, detail: dict[str, Any]) -> None: ...


class FailureSink(Protocol):
    def send(self, body: str, *, request_id: str | None, code: str, message: str) -> None: ...


class MetricsSink(Protocol):
    def count(self, name: str, value: float = 1, reason: str | None = None) -> None: ...

    def observe(self, name: str, value: float, unit: str) -> None: ...


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None:
        """`seconds` >= 0 (callers clamp)."""
        ...
