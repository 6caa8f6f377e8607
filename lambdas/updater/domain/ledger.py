"""What the ledger remembers: one entry per request, and one lane state per image set.

A request's entry is opened by intake (RECEIVED, with the digest of its content and when it came)
and ends SUCCEEDED or FAILED with its outcome, stored before it is published; `published` is set
after. The lane state of an image set records the one update call in flight for it (at most one:
the lane's FIFO group lets a single delivery work on an image set at a time), so a delivery that
comes back after a crash knows whether, and as what, that call landed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class LedgerStatus(StrEnum):
    RECEIVED = "RECEIVED"
    APPLIED = "APPLIED"  # a coalesced call carried the change; the member's own message ends it
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


TERMINAL = frozenset({LedgerStatus.SUCCEEDED, LedgerStatus.FAILED})


@dataclass(frozen=True)
class PlanSummary:
    """Attribute names (never values) a member's change touches, for its outcome."""

    changed: dict[str, list[str]] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class PendingCall:
    """The update call of one lane delivery: recorded before it is made, resolved when it settles.

    `to_version_id` is None until the call has answered; a delivery that finds it None after a
    crash reads the image set: still at `base_version_id` means the call never landed, anything
    later means it landed as base + 1 (nothing else updates the image set while the call is open).
    """

    call_id: str
    base_version_id: str
    members: tuple[str, ...]
    plans: Mapping[str, PlanSummary]
    started_at_ms: int
    to_version_id: str | None = None
    applied_at_ms: int | None = None
    polls: int = 0
    last_polled_ms: int | None = None
    base_primary: bool | None = None  # whether the image set was primary (an update keeps it so)

    def landed_as(self, version_id: str, at_ms: int) -> PendingCall:
        return replace(self, to_version_id=version_id, applied_at_ms=at_ms)

    def polled(self, polls: int, at_ms: int) -> PendingCall:
        return replace(self, polls=self.polls + polls, last_polled_ms=at_ms)


@dataclass(frozen=True)
class Notice:
    """HealthImaging announced that the open call's version settled (`domain.notices`)."""

    version_id: str
    workflow_status: str
    noticed_at_ms: int


@dataclass(frozen=True)
class LaneKey:
    datastore_id: str
    image_set_id: str


@dataclass(frozen=True)
class LaneState:
    key: LaneKey
    call: PendingCall | None = None
    turn_at_ms: int | None = None  # the pacing slot reserved for the lane's next call
    # The version the lane's last call settled as (cleared when a call begins or is refused): the
    # latest, unless someone else wrote since, which the next call's compare-and-swap would find.
    settled_version_id: str | None = None
    settled_is_primary: bool | None = None
    notice: Notice | None = None  # for the open call's version
    # Steps in a row that ended throttled, with a transient error or on a locked image set: their
    # backoff's exponent. A call that lands (saved unsettled, or ended settled) resets it.
    retries: int = 0


@dataclass(frozen=True)
class LedgerEntry:
    request_id: str
    status: LedgerStatus
    received_at_ms: int
    digest: str = ""
    outcome: Mapping[str, Any] | None = None
    published: bool = False
    applied: PendingCall | None = None  # status APPLIED: the call that carried this member
    parent_id: str | None = None  # a fan-out's child: its parent counts its outcome (domain.batch)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class StoredOutcome:
    entry: LedgerEntry  # holding the outcome that holds
    stored: bool  # False: an outcome was stored before (by an earlier delivery, or a racing one)


@dataclass(frozen=True)
class OpenedEntry:
    entry: LedgerEntry
    created: bool  # False: the entry existed (a redelivery, both triggers, or a reused requestId)
