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

from updater.domain.errors import FailureCode
from updater.domain.image_set import ImageSetVersion
from updater.domain.lane_message import LaneDelivery
from updater.domain.ledger import LaneKey, PendingCall
from updater.domain.outcome import OutcomeStatus, UpdateOutcome, scrub_message
from updater.domain.ports import Clock, ImageSets, Ledger
from updater.domain.settle import SettleSchedule

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

    def overdue(self, call: PendingCall) -> bool:
        assert call.applied_at_ms is not None
        return self._schedule.overdue(self._clock.now() - call.applied_at_ms / 1000)

    def outcome(
        self, lane: LaneKey, call: PendingCall, member: LaneDelivery, version: ImageSetVersion | None
    ) -> UpdateOutcome:
        """What `member` reports for the call: its settled `version`, or None for SETTLE_TIMEOUT."""
        now = self._clock.now()
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
            settle_ms=None if call.applied_at_ms is None else max(0, int(now * 1000) - call.applied_at_ms),
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

    def end(
        self, lane: LaneKey, call: PendingCall, present: Mapping[str, object], settled: str | None
    ) -> None:
        """Mark members whose messages are elsewhere APPLIED (their own delivery reports the
        version), then close the call."""
        for request_id in call.members:
            if request_id not in present:
                self._ledger.mark_applied(request_id, call)
        self._ledger.end_call(lane, call.call_id, settled_version_id=settled)
