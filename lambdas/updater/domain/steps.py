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

from collections.abc import Sequence
from dataclasses import dataclass, replace

from updater.domain.audit import AuditContext
from updater.domain.calls import NeverLanded, OpenCall, Settled, Unsettled
from updater.domain.errors import (
    ConflictError,
    FailureCode,
    PermanentServiceError,
    RetryableServiceError,
    ThrottledError,
)
from updater.domain.image_set import ImageSetVersion
from updater.domain.lane_message import LaneDelivery
from updater.domain.ledger import LaneKey, LaneState, Notice, PendingCall, PlanSummary
from updater.domain.outcome import OutcomeStatus, UpdateOutcome, scrub_message
from updater.domain.pacing import PacedTurns
from updater.domain.ports import Clock, ImageSets, Ledger, MetricsSink
from updater.domain.primary_rules import ADVICE as PRIMARY_ADVICE
from updater.domain.primary_rules import PrimaryImageSetPolicy, PrimaryRules
from updater.domain.recorder import Ending, OutcomeRecorder
from updater.domain.round_planner import CallPlan, Decided, RoundPlanner
from updater.domain.step_results import Done, Member, Round, StepResult, Wait, WaitReason, first_wait

__all__ = ["Done", "LaneSteps", "StepResult", "StepSettings", "Wait", "WaitReason"]


@dataclass(frozen=True)
class StepSettings:
    payload_limit_bytes: int
    inline_settle_s: float = 2.0  # how long a delivery polls its own call's version
    reserve_s: float = 5.0  # time an invocation keeps unused (SDK retries, the batch response)
    max_wait_s: float = 900.0
    # HealthImaging's settle events end waits (domain.notices): a new call's version is not polled
    # inline, and a lane polls only when no notice came within the usual settle time.
    settle_notices: bool = True


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
        primary: PrimaryImageSetPolicy | None = None,
    ) -> None:
        self._images = images
        self._ledger = ledger
        self._turns = turns
        self._recorder = recorder
        self._calls = calls
        self._clock = clock
        self._metrics = metrics
        self._settings = settings
        self._primary = primary or PrimaryImageSetPolicy(PrimaryRules.LEARN)
        self._planner = RoundPlanner(
            images=images,
            primary=self._primary,
            clock=clock,
            payload_limit_bytes=settings.payload_limit_bytes,
        )

    def advance(
        self, lane: LaneKey, deliveries: Sequence[LaneDelivery], deadline_s: float
    ) -> dict[str, StepResult]:
        """One step for each delivered request of `lane` (in lane order); results by message id."""
        members: dict[str, Member] = {}
        for delivery in deliveries:  # a copy forwarded twice rides on the first
            members.setdefault(delivery.request.request_id, Member(delivery, None))
        state, entries = self._ledger.read_unit(lane, list(members))
        round_ = Round()
        live: list[Member] = []
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
            except ThrottledError as err:
                self._metrics.count("Throttled")
                if err.retry_after_s is not None:  # our own read budget: its turn is known
                    round_.wait(live, Wait(err.retry_after_s, WaitReason.THROTTLED))
                else:
                    round_.wait(live, self._retry_wait(lane, live, WaitReason.THROTTLED))
            except RetryableServiceError:
                self._metrics.count("TransientError")
                round_.wait(live, self._retry_wait(lane, live, WaitReason.TRANSIENT))
        return {d.message_id: round_.results[d.request.request_id] for d in deliveries}

    # -- the steps --------------------------------------------------------------------------------
    def _work(
        self, lane: LaneKey, state: LaneState, live: list[Member], round_: Round, deadline_s: float
    ) -> None:
        if state.call is not None:
            landed = self._calls.landed(lane, state.call)
            if not isinstance(landed, NeverLanded) and not self._resolve(
                lane, landed, live, round_, deadline_s, notice=state.notice
            ):
                round_.wait(live, first_wait(round_, live))
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
        live: list[Member],
        round_: Round,
        deadline_s: float,
        *,
        own: bool = True,
        notice: Notice | None = None,
        fresh: bool = False,
    ) -> bool:
        """Settle a landed call (`own`: the lane's open call; else the call that carried a member
        earlier; `fresh`: made in this delivery); True once its members here have their outcomes."""
        present = {m.request_id: m for m in live if m.request_id in call.members}
        if notice is not None and notice.version_id == call.to_version_id:
            watched: Settled | Unsettled = self._calls.noticed(lane, call, notice)
        elif own and not fresh and self._settings.settle_notices and self._calls.notice_window_left(call) > 0:
            # Back before its notice: wait out the rest of the window (the notice wakes the lane),
            # then poll.
            wait = self._calls.notice_window_left(call)
            round_.wait(list(present.values()), Wait(wait, WaitReason.SETTLING, call.call_id))
            return False
        else:
            inline = 0.0 if fresh and self._settings.settle_notices else self._settings.inline_settle_s
            until = min(self._clock.now() + inline, deadline_s - self._settings.reserve_s)
            watched = self._calls.watch(lane, call, until_s=until)
        settled: ImageSetVersion | None = None
        if isinstance(watched, Unsettled):
            if not self._calls.overdue(call):
                settling = self._settling(watched)
                if own and fresh and settling.call_id is not None:  # saved as its waiters register
                    settling = replace(settling, landed=watched.call)
                elif own:
                    self._ledger.save_call(lane, watched.call)
                round_.wait(list(present.values()), settling)
                return False
            final = watched.call  # SETTLE_TIMEOUT: reported with the version the call made
        else:
            settled, final = watched.version, watched.call
        noticed_at = notice.noticed_at_ms if notice is not None and settled is not None else None
        endings = [
            Ending(
                self._calls.outcome(lane, final, member.delivery, settled, noticed_at),
                member.body,
                self._calls.audit(lane, final, member.delivery, values=self._recorder.audits),
            )
            for member in present.values()
        ]
        for member, ended in zip(present.values(), self._recorder.finish_all(endings), strict=True):
            round_.done(member, ended)
        if own:
            self._calls.end(lane, final, present, None if settled is None else settled.version_id)
        return True

    def _settling(self, watched: Unsettled) -> Wait:
        if not self._settings.settle_notices:
            return Wait(watched.next_poll_s, WaitReason.SETTLING)
        return Wait(self._calls.fallback_wait(watched.call), WaitReason.SETTLING, watched.call.call_id)

    def await_notice(self, lane: LaneKey, wait: Wait, waiters: Sequence[str]) -> bool:
        """Register the lane's messages hidden for `wait` (SETTLING on a call) for the call's settle
        notice; True when the notice came already (the caller wakes them now). A call made in
        the delivery is saved as it landed in the same write; if this is never reached (a crash,
        the messages could not be hidden), the next delivery finds out with one read."""
        assert wait.call_id is not None
        return self._ledger.wait_for_notice(lane, wait.call_id, waiters, landed=wait.landed) is not None

    def _plan_and_call(
        self, lane: LaneKey, state: LaneState, live: list[Member], round_: Round, deadline_s: float
    ) -> None:
        # The version our own last call settled as is the latest unless someone else wrote since:
        # a call on it is a compare-and-swap (a conflict sends the lane back to reading), and
        # outcomes decided without a call are checked against a real read before they are kept.
        known = state.settled_version_id
        latest = (
            ImageSetVersion(known, "ACTIVE", "UPDATED", is_primary=state.settled_is_primary)
            if known
            else self._read_latest(lane)
        )
        decided, call = self._plan(lane, live, latest)
        if known and decided:
            actual = self._read_latest(lane)
            if actual.version_id != known:
                latest = actual
                decided, call = self._plan(lane, live, latest)
        if not latest.settled:  # another writer (or a study-wide update) holds the image set
            round_.wait(live, self._retry_wait(lane, live, WaitReason.LOCKED))
            return
        ended = self._recorder.finish_all([Ending(o, m.body, _received(m)) for m, o in decided])
        for (member, _), outcome in zip(decided, ended, strict=True):
            round_.done(member, outcome)
        if call is None:
            return
        in_call = [member for member, _ in call.members]
        behind = [m for m in round_.pending(live) if m not in in_call]
        wait = self._turns.wait(lane, state.turn_at_ms)
        if wait > 0:
            seconds = min(wait, self._settings.max_wait_s)
            until = self._clock.now() + seconds
            round_.wait([*in_call, *behind], Wait(seconds, WaitReason.PACING, until_s=until))
            return
        landed = self._call(lane, latest, call, round_)
        if landed is not None and not self._resolve(lane, landed, in_call, round_, deadline_s, fresh=True):
            round_.wait(behind, first_wait(round_, in_call))
            return
        round_.wait(behind, Wait(0, WaitReason.BEHIND))

    def _read_latest(self, lane: LaneKey) -> ImageSetVersion:
        return self._images.get_image_set(lane.datastore_id, lane.image_set_id)

    def _plan(
        self, lane: LaneKey, live: list[Member], latest: ImageSetVersion
    ) -> tuple[Decided, CallPlan | None]:
        if not latest.settled:
            return [], None
        document = self._images.get_metadata(lane.datastore_id, lane.image_set_id, latest.version_id)
        return self._planner.decide(live, latest, document)

    def _call(
        self, lane: LaneKey, latest: ImageSetVersion, call: CallPlan, round_: Round
    ) -> PendingCall | None:
        """Make the call; the landed call, or None when it ended here (outcomes or waits set)."""
        members = [member for member, _ in call.members]
        pending = PendingCall(
            call_id=members[0].request_id,
            base_version_id=latest.version_id,
            members=tuple(m.request_id for m in members),
            plans={m.request_id: PlanSummary(plan.changed, plan.removed) for m, plan in call.members},
            started_at_ms=int(self._clock.now() * 1000),
            base_primary=latest.is_primary,
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
                round_.wait(members, self._retry_wait(lane, members, WaitReason.LOCKED))
            return None
        except (ThrottledError, PermanentServiceError) as err:  # refused: the call took no effect
            self._ledger.end_call(lane, pending.call_id, settled_version_id=None)
            if isinstance(err, ThrottledError):
                raise
            code, message = err.failure_code, scrub_message(err.message)
            if code is FailureCode.SERVICE_REJECTED and self._primary.explains_refusal(request, latest):
                if len(members) > 1:  # learned: the next delivery calls each apart
                    round_.wait(members, Wait(0, WaitReason.BEHIND))
                    return None
                code, message = FailureCode.PRIMARY_IMAGE_SET_RESTRICTED, PRIMARY_ADVICE
            for member in members:
                round_.done(member, self._failed(member, latest, code, message))
            return None
        finally:  # a 5xx or a lost answer leaves the call open: the next delivery reads the image set
            self._turns.call_ended()
        return pending.landed_as(new.version_id, int(self._clock.now() * 1000))

    def _failed(
        self, member: Member, latest: ImageSetVersion, code: FailureCode, message: str
    ) -> UpdateOutcome:
        outcome = self._planner.failure(member, latest, code, message)
        return self._recorder.finish(outcome, member.body, _received(member))

    def _refused(self, member: Member, err: PermanentServiceError) -> UpdateOutcome:
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
        return self._recorder.finish(outcome, member.body, _received(member))

    def _retry_wait(self, lane: LaneKey, members: Sequence[Member], reason: WaitReason) -> Wait:
        """1, 2, 4 ... 60 s with the lane's steps in a row that could not go on. Not with the
        deliveries its messages have had: every wait (for a settle, a slot, an earlier request) is
        a delivery, so a request that met its first throttle late in its life waited a minute."""
        try:
            retries = self._ledger.note_retry(lane)
        except RetryableServiceError:  # the ledger is unreachable too: the deliveries are all there is
            retries = max(m.delivery.receive_count for m in members)
        return Wait(float(min(60, 2 ** max(0, min(retries - 1, 6)))), reason)


def _received(member: Member) -> AuditContext:
    return member.delivery.message.audit_context()
