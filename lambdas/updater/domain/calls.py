"""An image set's open update call: found out whether it landed, watched until it settles, ended.

Used by the apply steps (a delivery that finds a call open on its lane) and by the finalizer (a
member whose lane deliveries ran out): both must come to the same answer about the same call, and
whichever records a member's outcome first is the one that holds (the recorder's conditional write).

Attribution is exact without claims or leases: a call is recorded before it is made, and while it
is open no other call is made on its image set (the lane serializes deliveries per image set, and a
delivery resolves an open call before it plans anything). So after a crash, an image set still at
the call's base version means the call never landed; one past it means the call made base + 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from updater.domain.audit import AttributeChange, AuditContext, attribute_changes
from updater.domain.errors import FailureCode
from updater.domain.image_set import ImageSetVersion
from updater.domain.lane_message import LaneDelivery
from updater.domain.ledger import LaneKey, Notice, PendingCall
from updater.domain.outcome import OutcomeStatus, UpdateOutcome, scrub_message
from updater.domain.ports import Clock, ImageSets, Ledger
from updater.domain.settle import SettleSchedule

DOCUMENTS_KEPT = 16
# A call answered this recently counts as the last sighting of its version locked.
FRESH_CALL_S = 5.0


@dataclass(frozen=True)
class Settled:
    version: ImageSetVersion
    call: PendingCall  # with the polls made so far


@dataclass(frozen=True)
class Unsettled:
    call: PendingCall  # with the polls made so far
    next_poll_s: float


@dataclass(frozen=True)
class NeverLanded:
    """The image set is still at the call's base version: the call took no effect."""


class OpenCall:
    def __init__(self, *, images: ImageSets, ledger: Ledger, clock: Clock, schedule: SettleSchedule) -> None:
        self._images = images
        self._ledger = ledger
        self._clock = clock
        self._schedule = schedule
        # Versions' metadata read for audit records, kept while the members of a call end (a
        # version's metadata never changes).
        self._documents: dict[tuple[str, str, str], dict[str, Any]] = {}

    def landed(self, lane: LaneKey, call: PendingCall) -> PendingCall | NeverLanded:
        """The call with its new version known; reads the image set when a crash left it unknown."""
        if call.to_version_id is not None:
            return call
        latest = self._images.get_image_set(lane.datastore_id, lane.image_set_id)
        if latest.version_id == call.base_version_id:
            self._ledger.end_call(lane, call.call_id, settled_version_id=None)
            return NeverLanded()
        landed = call.landed_as(str(int(call.base_version_id) + 1), call.started_at_ms)
        self._ledger.save_call(lane, landed)
        return landed

    def watch(self, lane: LaneKey, call: PendingCall, *, until_s: float) -> Settled | Unsettled:
        """Poll the call's version until it settles or the next poll would pass `until_s`. A call
        polled before gets at least one poll (a delivery that came back for it always looks); a
        fresh one is first polled when the schedule says (the call itself answered LOCKED)."""
        assert call.to_version_id is not None and call.applied_at_ms is not None
        called_s = call.applied_at_ms / 1000
        unsettled_s = self._last_seen_unsettled(call)
        if call.polls == 0:  # nothing looked yet: the first poll waits for its moment
            wait = called_s + self._schedule.next_delay(0.0, 0) - self._clock.now()
            if self._clock.now() + wait > until_s:
                return Unsettled(call, wait)
            if wait > 0:
                self._clock.sleep(wait)
        polls = 0
        while True:
            version = self._images.get_image_set(lane.datastore_id, lane.image_set_id, call.to_version_id)
            now = self._clock.now()
            polls += 1
            if version.settled:
                if unsettled_s is not None and now - unsettled_s <= 0.5 * (now - called_s) + 0.5:
                    self._schedule.settled(called_s=called_s, last_unsettled_s=unsettled_s, now_s=now)
                return Settled(version, call.polled(polls, int(now * 1000)))
            unsettled_s = now
            delay = self._schedule.next_delay(now - called_s, call.polls + polls)
            if now + delay > until_s:
                return Unsettled(call.polled(polls, int(now * 1000)), delay)
            self._clock.sleep(delay)

    def _last_seen_unsettled(self, call: PendingCall) -> float | None:
        """When the version was last known locked: its last poll, or the call's own answer (LOCKED)
        while that is recent; unknown after a crash, so a late first look teaches nothing."""
        if call.last_polled_ms is not None:
            return call.last_polled_ms / 1000
        assert call.applied_at_ms is not None
        called_s = call.applied_at_ms / 1000
        return called_s if self._clock.now() - called_s <= FRESH_CALL_S else None

    def noticed(self, lane: LaneKey, call: PendingCall, notice: Notice) -> Settled:
        """The call's version as HealthImaging's event announced it: no poll, except one read for an
        UPDATE_FAILED version's message (the event carries none)."""
        assert call.to_version_id == notice.version_id and call.applied_at_ms is not None
        if notice.workflow_status == "UPDATE_FAILED":
            version = self._images.get_image_set(lane.datastore_id, lane.image_set_id, call.to_version_id)
        else:
            version = ImageSetVersion(notice.version_id, "ACTIVE", notice.workflow_status)
        # The event left when the version settled: its arrival is the settle time, plus delivery.
        self._schedule.estimator.observe((notice.noticed_at_ms - call.applied_at_ms) / 1000)
        return Settled(version, call)

    def fallback_wait(self, call: PendingCall) -> float:
        """How long a lane waits for a notice before it polls: past the settle most calls take."""
        assert call.applied_at_ms is not None
        since = self._clock.now() - call.applied_at_ms / 1000
        return self._schedule.notice_fallback(since, call.polls)

    def notice_window_left(self, call: PendingCall) -> float:
        assert call.applied_at_ms is not None
        return self._schedule.notice_window_left(self._clock.now() - call.applied_at_ms / 1000)

    def overdue(self, call: PendingCall) -> bool:
        assert call.applied_at_ms is not None
        return self._schedule.overdue(self._clock.now() - call.applied_at_ms / 1000)

    def outcome(
        self,
        lane: LaneKey,
        call: PendingCall,
        member: LaneDelivery,
        version: ImageSetVersion | None,
        noticed_at_ms: int | None = None,
    ) -> UpdateOutcome:
        """What `member` reports for the call: its settled `version`, or None for SETTLE_TIMEOUT.
        `noticed_at_ms`: when the updater learned it settled (now, unless a notice said earlier)."""
        now = self._clock.now()
        noticed_ms = int(now * 1000) if noticed_at_ms is None else noticed_at_ms
        request_id = member.request.request_id
        plan = call.plans.get(request_id)
        outcome = UpdateOutcome(
            request_id=request_id,
            datastore_id=lane.datastore_id,
            image_set_id=lane.image_set_id,
            status=OutcomeStatus.SUCCEEDED,
            trigger=member.message.trigger,
            from_version_id=call.base_version_id,
            to_version_id=call.to_version_id,
            forced=member.request.force,
            revert_to_version_id=member.request.revert_to_version_id,
            attempts=member.receive_count,
            polls=call.polls,
            duration_ms=max(0, int(now * 1000) - member.message.received_at_ms),
            settle_ms=None if call.applied_at_ms is None else max(0, noticed_ms - call.applied_at_ms),
            changed=dict(plan.changed) if plan else {},
            removed=dict(plan.removed) if plan else {},
            coalesced_request_ids=[m for m in call.members if m != request_id],
        )
        if version is None:
            return outcome.failed(FailureCode.SETTLE_TIMEOUT, "the new version did not settle in time")
        if version.update_failed:
            return outcome.failed(
                FailureCode.UPDATE_FAILED, scrub_message(version.message or "update failed")
            )
        return outcome

    def audit(self, lane: LaneKey, call: PendingCall, member: LaneDelivery, *, values: bool) -> AuditContext:
        """What the audit record of `member`'s outcome for the call needs beyond the outcome; with
        `values`, each changed attribute's value before (the call's base version, read again:
        values are never kept outside the audit store) and after (what the request set, or the
        revert target's)."""
        changes: tuple[AttributeChange, ...] = ()
        plan = call.plans.get(member.request.request_id)
        if values and plan is not None:
            before = self._document(lane, call.base_version_id)
            request = member.request
            if request.revert_to_version_id is not None:
                after = self._document(lane, request.revert_to_version_id)
            else:
                updates = request.dicom_updates
                after = dict(updates.updatable_attributes or {}) if updates is not None else {}
            changes = attribute_changes(plan.changed, plan.removed, before=before, after=after)
        return member.message.audit_context(applied_at_ms=call.applied_at_ms, changes=changes)

    def _document(self, lane: LaneKey, version_id: str) -> dict[str, Any]:
        key = (lane.datastore_id, lane.image_set_id, version_id)
        if key not in self._documents:
            if len(self._documents) > DOCUMENTS_KEPT:
                self._documents.clear()
            self._documents[key] = self._images.get_metadata(lane.datastore_id, lane.image_set_id, version_id)
        return self._documents[key]

    def end(
        self, lane: LaneKey, call: PendingCall, present: Mapping[str, object], settled: str | None
    ) -> None:
        """Mark members whose messages are elsewhere APPLIED (their own delivery reports the
        version), then close the call."""
        for request_id in call.members:
            if request_id not in present:
                self._ledger.mark_applied(request_id, call)
        self._ledger.end_call(lane, call.call_id, settled_version_id=settled, is_primary=call.base_primary)
