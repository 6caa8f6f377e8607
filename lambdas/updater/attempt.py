"""Attempt and ProcessResult: one invocation's work on one request, and what it tells the handler.

Kept apart from the service so the group processor and the handler can speak about results without
importing the state machine.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from updater.adapters.ledger import LedgerEntry
from updater.domain.image_set import ImageSetVersion
from updater.domain.outcome import OutcomeStatus, UpdateOutcome
from updater.domain.planning import UpdatePlan
from updater.domain.request import UpdateRequest


@dataclass(frozen=True)
class ProcessResult:
    outcome: UpdateOutcome | None = None
    retry_after_s: float | None = None  # hand the request back; it is not finished
    waiting_for: str = ""  # "token", "lease", "claim", "settle", "transient", "time": why it was handed back


@dataclass
class Attempt:
    """Bookkeeping for one invocation's work on one request."""

    request: UpdateRequest
    body: str
    trigger: str
    started_s: float
    deadline_s: float
    entry: LedgerEntry
    polls: int = 0
    from_version: str | None = None
    plan: UpdatePlan | None = None
    internal: bool = False  # a coalesced call: its members publish the outcomes, not it
    # A coalesced call's members: their entries are marked APPLIED with the call, so a member that
    # comes back on its own (handed back mid-settle, regrouped) settles the shared version instead
    # of planning from scratch against metadata that already holds its change (a false no-op).
    members: tuple[str, ...] = ()
    turn_at_s: float | None = None  # pacing slot reserved by an earlier delivery
    inline_wait_s: float = 1.5  # how long this invocation may wait for its slot before handing back
    notes: dict[str, Any] = field(default_factory=dict)

    def succeeded(self, version: ImageSetVersion | None, *, noop: bool, now_s: float) -> UpdateOutcome:
        """The outcome this attempt reports if it ends on `version` (failures copy it with a code)."""
        request, plan = self.request, self.plan
        changed_to = None if version is None else version.version_id
        return UpdateOutcome(
            request_id=request.request_id,
            datastore_id=request.datastore_id,
            image_set_id=request.image_set_id,
            status=OutcomeStatus.SUCCEEDED,
            trigger=self.trigger,
            from_version_id=self.from_version,
            to_version_id=self.from_version if noop or request.dry_run else changed_to,
            noop=noop,
            dry_run=request.dry_run,
            revert_to_version_id=request.revert_to_version_id,
            forced=request.force,
            attempts=self.entry.attempts,
            polls=self.polls,
            duration_ms=int((now_s - self.entry.received_at_ms / 1000) * 1000),
            settle_ms=self.notes.get("settle_ms"),
            changed=dict(plan.changed) if plan else {},
            removed=dict(plan.removed) if plan else {},
        )


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


def body_request_id(body: str) -> str:
    """Ledger key for a message too broken to carry or derive a requestId: its content hash."""
    return "body-" + hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:32]
