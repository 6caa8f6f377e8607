"""The lane's state machine: what one delivery does for the waiting requests of one image set.

    resolve an open call ─► plan ─► pace ─► call ─► settle poll ─► outcome
          │                  │       │        │          │
          └────── Wait ──────┴───────┴────────┴──────────┘   (the message is hidden that long)

A delivery takes the requests of one image set that arrived together (in lane order), ends those
it can decide now (finished before, no-ops, dry runs, failures found by planning, pinned versions
the image set has left), makes at most one update call for the next ones (coalesced in order), and
polls its version for a short while. Whatever must wait is returned as `Wait(seconds, reason)`: the
handler hides the messages that long, which keeps the image set's FIFO group blocked, so order and
exclusivity come from the queue, not from leases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from updater.domain.calls import NeverLanded, OpenCall, Unsettled
from updater.domain.coalescing import coalesce, coalescible
from updater.domain.errors import (
    ConflictError,
    FailureCode,
    PermanentServiceError,
    RetryableServiceError,
    ThrottledError,
    ValidationFailure,
)
from updater.domain.image_set import ImageSetVersion
from updater.domain.lane_message import LaneDelivery
from updater.domain.ledger import LaneKey, LaneState, LedgerEntry, PendingCall, PlanSummary
from updater.domain.outcome import OutcomeStatus, UpdateOutcome, scrub_message
from updater.domain.pacing import PacedTurns
from updater.domain.planning import UpdatePlan, plan_revert, plan_update
from updater.domain.ports import Clock, ImageSets, Ledger, MetricsSink
from updater.domain.recorder import OutcomeRecorder
from updater.domain.request import UpdateRequest

# A message waiting for its pacing slot comes back this much early at least (queues are whole
# seconds and not punctual); the remaining moments are slept inline (`PacedTurns.inline_wait_s`).
PACING_EARLY_S = 0.5


class WaitReason(StrEnum):
    PACING = "pacing"  # the account-wide update schedule gave a later slot
    LOCKED = "locked"  # another write on the image set is running
    SETTLING = "settling"  # our call's version has not settled yet
    THROTTLED = "throttled"
    TRANSIENT = "transient"  # a 5xx, a timeout, an unreachable AWS service
    BEHIND = "behind"  # an earlier request of the image set went first in this delivery
    TIME = "time"  # the invocation has too little time left to start


@dataclass(frozen=True)
class Wait:
    seconds: float
    reason: WaitReason

    @property
    def visibility_s(self) -> int:
        """Whole seconds for the queue: a slot is met early (the last moments are slept inline);
        a poll is never made early (an early poll is a wasted read and a wasted receive)."""
        if self.reason in (WaitReason.BEHIND, WaitReason.TIME):
            return 0
        if self.reason is WaitReason.PACING:
            return max(0, math.floor(self.seconds - PACING_EARLY_S))
        return max(1, math.ceil(self.seconds))


@dataclass(frozen=True)
class Done:
    outcome: UpdateOutcome


StepResult = Wait | Done


@dataclass(frozen=True)
class StepSettings:
    payload_limit_bytes: int
    inline_settle_s: float = 2.0  # how long a delivery polls its own call's version
    reserve_s: float = 5.0  # time an invocation keeps unused (SDK retries, the batch response)
    max_wait_s: float = 900.0


@dataclass
class _Member:
    delivery: LaneDelivery
    entry: LedgerEntry | None
    request: UpdateRequest = field(init=False)
    request_id: str = field(init=False)
    body: str = field(init=False)

    def __post_init__(self) -> None:
        self.request = self.delivery.request
        self.request_id = self.request.request_id
        self.body = self.delivery.body


@dataclass
class _CallPlan:
    request: UpdateRequest  # what is sent: one member, or several merged in order
    members: list[tuple[_Member, UpdatePlan]]


@dataclass
class _Round:
    """This delivery's results, by request id."""

    results: dict[str, StepResult] = field(default_factory=dict)

    def done(self, member: _Member, outcome: UpdateOutcome) -> None:
        self.results[member.request_id] = Done(outcome)

    def wait(self, members: Sequence[_Member], wait: Wait) -> None:
        for member in members:
            self.results.setdefault(member.request_id, wait)

    def pending(self, members: Sequence[_Member]) -> list[_Member]:
        return [m for m in members if m.request_id not in self.results]


class LaneSteps:
    def __init__(
        self,
        *,
        images: ImageSets,
        ledger: Ledger,
        turns: PacedTurns,
        recorder: OutcomeRecorder,
        calls: OpenCall,
        clock: Clock,
        metrics: MetricsSink,
        settings: StepSettings,
    ) -> None:
        self._images = images
        self._ledger = ledger
        self._turns = turns
        self._recorder = recorder
        self._calls = calls
        self._clock = clock
        self._metrics = metrics
        self._settings = settings

    def advance(
        self, lane: LaneKey, deliveries: Sequence[LaneDelivery], deadline_s: float
    ) -> dict[str, StepResult]:
        """One step for each delivered request of `lane` (in lane order); results by message id."""
        members: dict[str, _Member] = {}
        for delivery in deliveries:  # a copy forwarded twice rides on the first
            members.setdefault(delivery.request.request_id, _Member(delivery, None))
        state, entries = self._ledger.read_unit(lane, list(members))
        round_ = _Round()
        live: list[_Member] = []
        for member in members.values():
            member.entry = entries.get(member.request_id)
            if member.entry is not None and member.entry.terminal:
                round_.done(member, self._recorder.replay(member.entry, member.body))
            else:
                live.append(member)
        if not live and state.call is not None and set(state.call.members) <= set(round_.results):
            # Its members all ended (their outcomes were stored, the call's closing was cut off).
            self._ledger.end_call(lane, state.call.call_id, settled_version_id=None)
        if live:
            try:
                self._work(lane, state, live, round_, deadline_s)
            except PermanentServiceError as err:  # the image set is gone, or access is denied
                for member in round_.pending(live):
                    round_.done(member, self._refused(member, err))
            except ThrottledError:
                self._metrics.count("Throttled")
                round_.wait(live, Wait(self._backoff(live), WaitReason.THROTTLED))
            except RetryableServiceError:
                self._metrics.count("TransientError")
                round_.wait(live, Wait(self._backoff(live), WaitReason.TRANSIENT))
        return {d.message_id: round_.results[d.request.request_id] for d in deliveries}

    # -- the steps --------------------------------------------------------------------------------
    def _work(
        self, lane: LaneKey, state: LaneState, live: list[_Member], round_: _Round, deadline_s: float
    ) -> None:
        if state.call is not None:
            landed = self._calls.landed(lane, state.call)
            if not isinstance(landed, NeverLanded) and not self._resolve(
                lane, landed, live, round_, deadline_s
            ):
                round_.wait(live, _first_wait(round_, live))
                return
        for member in round_.pending(live):  # carried by a call that was resolved without it
            if member.entry is not None and member.entry.applied is not None:
                self._resolve(lane, member.entry.applied, [member], round_, deadline_s, own=False)
        live = round_.pending(live)
        if not live:
            return
        if self._clock.now() > deadline_s - self._settings.reserve_s:
            round_.wait(live, Wait(0, WaitReason.TIME))
            return
        self._plan_and_call(lane, state, live, round_, deadline_s)

    def _resolve(
        self,
        lane: LaneKey,
        call: PendingCall,
        live: list[_Member],
        round_: _Round,
        deadline_s: float,
        *,
        own: bool = True,
    ) -> bool:
        """Watch a landed call's version (`own`: the lane's open call; else the call that carried
        a member earlier); True once its members present here have their outcomes."""
        until = min(self._clock.now() + self._settings.inline_settle_s, deadline_s - self._settings.reserve_s)
        watched = self._calls.watch(lane, call, until_s=until)
        present = {m.request_id: m for m in live if m.request_id in call.members}
        settled: ImageSetVersion | None = None
        if isinstance(watched, Unsettled):
            if not self._calls.overdue(call):
                if own:
                    self._ledger.save_call(lane, watched.call)
                round_.wait(list(present.values()), Wait(watched.next_poll_s, WaitReason.SETTLING))
                return False
            final = watched.call  # SETTLE_TIMEOUT: reported with the version the call made
        else:
            settled, final = watched.version, watched.call
        for member in present.values():
            outcome = self._calls.outcome(lane, final, member.delivery, settled)
            round_.done(member, self._recorder.finish(outcome, member.body))
        if own:
            self._calls.end(lane, final, present, None if settled is None else settled.version_id)
        return True

    def _plan_and_call(
        self, lane: LaneKey, state: LaneState, live: list[_Member], round_: _Round, deadline_s: float
    ) -> None:
        latest = self._images.get_image_set(lane.datastore_id, lane.image_set_id)
        if not latest.settled:  # another writer (or a study-wide update) holds the image set
            round_.wait(live, Wait(self._backoff(live), WaitReason.LOCKED))
            return
        document = self._images.get_metadata(lane.datastore_id, lane.image_set_id, latest.version_id)
        call = self._decide(live, latest, document, round_)
        if call is None:
            return
        in_call = [member for member, _ in call.members]
        behind = [m for m in round_.pending(live) if m not in in_call]
        wait = self._turns.wait(lane, state.turn_at_ms)
        if wait > 0:
            round_.wait([*in_call, *behind], Wait(min(wait, self._settings.max_wait_s), WaitReason.PACING))
            return
        landed = self._call(lane, latest, call, round_)
        if landed is not None and not self._resolve(lane, landed, in_call, round_, deadline_s):
            round_.wait(behind, _first_wait(round_, in_call))
            return
        round_.wait(behind, Wait(0, WaitReason.BEHIND))

    def _decide(
        self, live: list[_Member], latest: ImageSetVersion, document: dict[str, object], round_: _Round
    ) -> _CallPlan | None:
        """Ends what can be decided on the current version; returns the call for the next ones.

        Requests before the first one that needs a call are decided against the current metadata.
        After it, only requests that merge with it (in order) join the call; the first that does
        not ends the call, and it and everything after it wait for the next delivery. (A failure
        that planning finds in a later request does not depend on the earlier ones: a call cannot
        add the series or instances it names, and coalescing refuses a removal of what another
        member sets.)
        """
        call: _CallPlan | None = None
        for member in live:
            request = member.request
            if call is not None:
                if not coalescible(request):
                    break
                plan = plan_update(request, document)
                if plan.failures:
                    round_.done(
                        member, self._failed(member, latest, plan.failures[0].code, plan.failures[0].message)
                    )
                    continue
                merged = self._merge(call, member)
                if merged is None:
                    break
                call.request = merged
                call.members.append((member, plan))
                continue
            if request.expected_version_id and request.expected_version_id != latest.version_id:
                message = "image set moved on from the pinned version"
                round_.done(member, self._failed(member, latest, FailureCode.VERSION_CONFLICT, message))
                continue
            plan = self._plan(request, document)
            if plan.failures:
                round_.done(
                    member, self._failed(member, latest, plan.failures[0].code, plan.failures[0].message)
                )
            elif plan.noop or request.dry_run:
                round_.done(member, self._unchanged(member, latest, plan))
            else:
                call = _CallPlan(request, [(member, plan)])
        return call

    def _merge(self, call: _CallPlan, member: _Member) -> UpdateRequest | None:
        requests = [m.request for m, _ in call.members] + [member.request]
        groups = coalesce(requests, ordered=True, payload_limit=self._settings.payload_limit_bytes)
        return groups[0].merged if len(groups) == 1 else None

    def _plan(self, request: UpdateRequest, document: dict[str, object]) -> UpdatePlan:
        if request.revert_to_version_id is None:
            return plan_update(request, document)
        try:
            target = self._images.get_metadata(
                request.datastore_id, request.image_set_id, request.revert_to_version_id
            )
        except PermanentServiceError as err:
            if err.failure_code is not FailureCode.IMAGE_SET_NOT_FOUND:
                raise
            failure = ValidationFailure(
                FailureCode.REVERT_VERSION_NOT_FOUND, "revertToVersionId", "names no version of the image set"
            )
            return UpdatePlan(noop=False, failures=(failure,))
        return plan_revert(document, target)

    def _call(
        self, lane: LaneKey, latest: ImageSetVersion, call: _CallPlan, round_: _Round
    ) -> PendingCall | None:
        """Make the call; the landed call, or None when it ended here (outcomes or waits set)."""
        members = [member for member, _ in call.members]
        pending = PendingCall(
            call_id=members[0].request_id,
            base_version_id=latest.version_id,
            members=tuple(m.request_id for m in members),
            plans={m.request_id: PlanSummary(plan.changed, plan.removed) for m, plan in call.members},
            started_at_ms=int(self._clock.now() * 1000),
        )
        self._ledger.begin_call(lane, pending)
        self._metrics.count("UpdateCalls")
        if len(members) > 1:
            self._metrics.count("CallsSavedByCoalescing", len(members) - 1)
        request = call.request
        try:
            new = self._images.update(
                lane.datastore_id,
                lane.image_set_id,
                latest_version_id=latest.version_id,
                updates=request.api_updates(),
                force=request.force,
                include_study_image_sets=request.include_study_image_sets,
            )
        except ConflictError:  # the image set moved on or is locked: the call took no effect
            self._ledger.end_call(lane, pending.call_id, settled_version_id=None)
            self._metrics.count("ConflictRetried")
            if request.expected_version_id:
                message = "image set changed while updating"
                for member in members:
                    round_.done(member, self._failed(member, latest, FailureCode.VERSION_CONFLICT, message))
            else:
                round_.wait(members, Wait(self._backoff(members), WaitReason.LOCKED))
            return None
        except (ThrottledError, PermanentServiceError) as err:  # refused: the call took no effect
            self._ledger.end_call(lane, pending.call_id, settled_version_id=None)
            if isinstance(err, ThrottledError):
                raise
            for member in members:
                round_.done(
                    member, self._failed(member, latest, err.failure_code, scrub_message(err.message))
                )
            return None
        finally:  # a 5xx or a lost answer leaves the call open: the next delivery reads the image set
            self._turns.call_ended()
        return pending.landed_as(new.version_id, int(self._clock.now() * 1000))

    # -- outcomes ---------------------------------------------------------------------------------
    def _base_outcome(
        self, member: _Member, latest: ImageSetVersion, plan: UpdatePlan | None
    ) -> UpdateOutcome:
        message, request = member.delivery.message, member.request
        return UpdateOutcome(
            request_id=request.request_id,
            datastore_id=request.datastore_id,
            image_set_id=request.image_set_id,
            status=OutcomeStatus.SUCCEEDED,
            trigger=message.trigger,
            from_version_id=latest.version_id,
            to_version_id=latest.version_id,
            dry_run=request.dry_run,
            revert_to_version_id=request.revert_to_version_id,
            forced=request.force,
            attempts=member.delivery.receive_count,
            duration_ms=max(0, int(self._clock.now() * 1000) - message.received_at_ms),
            changed=dict(plan.changed) if plan else {},
            removed=dict(plan.removed) if plan else {},
        )

    def _unchanged(self, member: _Member, latest: ImageSetVersion, plan: UpdatePlan) -> UpdateOutcome:
        outcome = self._base_outcome(member, latest, plan).model_copy(update={"noop": plan.noop})
        return self._recorder.finish(outcome, member.body)

    def _failed(
        self, member: _Member, latest: ImageSetVersion, code: FailureCode, message: str
    ) -> UpdateOutcome:
        outcome = self._base_outcome(member, latest, None).failed(code, message)
        return self._recorder.finish(outcome, member.body)

    def _refused(self, member: _Member, err: PermanentServiceError) -> UpdateOutcome:
        message, request = member.delivery.message, member.request
        outcome = UpdateOutcome(
            request_id=request.request_id,
            datastore_id=request.datastore_id,
            image_set_id=request.image_set_id,
            status=OutcomeStatus.FAILED,
            trigger=message.trigger,
            attempts=member.delivery.receive_count,
            error_code=err.failure_code,
            error_message=scrub_message(err.message),
        )
        return self._recorder.finish(outcome, member.body)

    def _backoff(self, members: Sequence[_Member]) -> float:
        """Grows with the deliveries the request has had: 1, 2, 4 ... 60 s."""
        receives = max(m.delivery.receive_count for m in members)
        return float(min(60, 2 ** max(0, min(receives - 1, 6))))


def _first_wait(round_: _Round, members: Sequence[_Member]) -> Wait:
    for member in members:
        result = round_.results.get(member.request_id)
        if isinstance(result, Wait):
            return result
    return Wait(0, WaitReason.BEHIND)
