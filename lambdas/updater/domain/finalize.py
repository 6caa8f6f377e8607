"""The finalizer: every message SQS moved to a redrive DLQ ends with an explained outcome.

A message reaches a redrive DLQ when its queue gave up on it (maxReceiveCount receives): intake that
kept failing (an AWS service unreachable for the whole retry window), or a lane message whose waits
or crashes used up its deliveries. Whatever the ledger knows decides the outcome: a request that
ended keeps its outcome (announced again only if the announcement was cut off); one whose call
made a version reports that version once it has settled, or SETTLE_TIMEOUT with it; anything else
ends RETRIES_EXHAUSTED. So "every request ends with a reason" holds without keeping SQS from
redriving, and the finalizer's own DLQ is the one place where something can still be lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from updater.domain.audit import AuditContext
from updater.domain.calls import NeverLanded, OpenCall, Unsettled
from updater.domain.content_types import NotForUpdater
from updater.domain.errors import FailureCode, ValidationFailure
from updater.domain.image_set import ImageSetVersion
from updater.domain.inbound import ImportCompletedMessage, RejectedMessage, RequestMessage
from updater.domain.intake import Intake
from updater.domain.lane_message import LaneDelivery
from updater.domain.ledger import PendingCall
from updater.domain.outcome import OutcomeStatus, UpdateOutcome, rejection
from updater.domain.ports import Clock, Ledger, MetricsSink
from updater.domain.provenance import Origin
from updater.domain.recorder import OutcomeRecorder
from updater.domain.selectors import ParentMessage


@dataclass(frozen=True)
class ImportGiveUp:
    """What the finalizer does with an import event whose reaction failed on every delivery."""

    envelope: dict[str, object]


class Finalizer:
    def __init__(
        self,
        *,
        ledger: Ledger,
        calls: OpenCall,
        recorder: OutcomeRecorder,
        intake: Intake,
        metrics: MetricsSink,
        clock: Clock,
    ) -> None:
        self._ledger = ledger
        self._calls = calls
        self._recorder = recorder
        self._intake = intake
        self._metrics = metrics
        self._clock = clock

    def lane_message(self, delivery: LaneDelivery) -> UpdateOutcome:
        """A lane message whose deliveries ran out."""
        message, request = delivery.message, delivery.request
        body = delivery.body
        state, entries = self._ledger.read_unit(message.lane, [request.request_id])
        entry = entries.get(request.request_id)
        if entry is not None and entry.terminal:
            return self._recorder.replay(entry, body)
        own = state.call is not None and request.request_id in state.call.members
        call = state.call if own else (entry.applied if entry is not None else None)
        if call is not None:
            outcome = self._from_call(delivery, call, own=own)
            if outcome is not None:
                return self._recorder.finish(outcome, body, self.audit_of(delivery, call))
        self._metrics.count("LaneExhausted")
        outcome = UpdateOutcome(
            request_id=request.request_id,
            datastore_id=request.datastore_id,
            image_set_id=request.image_set_id,
            status=OutcomeStatus.FAILED,
            trigger=message.trigger,
            forced=request.force,
            dry_run=request.dry_run,
            attempts=delivery.receive_count,
            duration_ms=max(0, int(self._clock.now() * 1000) - message.received_at_ms),
            error_code=FailureCode.RETRIES_EXHAUSTED,
            error_message="the lane's deliveries ran out before the request could finish",
        )
        return self._recorder.finish(outcome, body, message.audit_context())

    def _from_call(self, delivery: LaneDelivery, call: PendingCall, *, own: bool) -> UpdateOutcome | None:
        """The member's outcome from the call that carries it (None: the call never landed)."""
        lane = delivery.message.lane
        landed = self._calls.landed(lane, call) if own else call
        if isinstance(landed, NeverLanded):
            return None
        watched = self._calls.watch(lane, landed, until_s=self._clock.now())  # one look, no waiting
        version: ImageSetVersion | None = None if isinstance(watched, Unsettled) else watched.version
        final = watched.call
        if own:  # the other members learn the version from their entries
            settled = None if version is None else version.version_id
            self._calls.end(lane, final, {delivery.request.request_id: delivery}, settled)
        return self._calls.outcome(lane, final, delivery, version)

    def audit_of(self, delivery: LaneDelivery, call: PendingCall) -> AuditContext:
        return self._calls.audit(delivery.message.lane, call, delivery, values=self._recorder.audits)

    def reject(self, body: str, message: RejectedMessage) -> UpdateOutcome | None:
        return self._intake.reject(body, message).outcome

    def intake_message(
        self, body: str, origin: Origin, content_type: str | None = None
    ) -> UpdateOutcome | ImportGiveUp | None:
        """An ingest message intake could not take on any delivery (None: a settle notice, whose
        lane polls without it, an HL7 event the updater does not map, or a parent: its recorded
        children are sent once more, or it ends RETRIES_EXHAUSTED). Judged by how it arrived, as
        intake would have."""
        message = self._intake.inbound(body, content_type)
        sender = self._intake.judge(message, body, origin)
        if isinstance(sender, ValidationFailure):
            return self._intake.refuse(body, message, sender, origin).outcome
        if isinstance(message, NotForUpdater):
            return None
        if isinstance(message, ParentMessage):
            return self._intake.admit_parent(message, body, sender=sender, last_try=True).outcome
        if isinstance(message, RejectedMessage):
            return self._intake.reject(body, message, caller=sender.caller).outcome
        if isinstance(message, ImportCompletedMessage):
            return ImportGiveUp(message.envelope)
        if not isinstance(message, RequestMessage):
            self._metrics.count("Ignored", reason="NOTICE_EXHAUSTED")
            return None
        request = message.request
        refused = sender.authorize(request) or self._intake.validation_failure(request)
        if refused is not None:  # intake would have ended it so, had it reached AWS
            return self._intake.admit_request(
                request, trigger=message.trigger, body=body, sender=sender
            ).outcome
        # Under its binding: content that reused the requestId ends REQUEST_ID_REUSED, an ended
        # request keeps its outcome, anything else ends RETRIES_EXHAUSTED.
        self._metrics.count("IntakeExhausted")
        exhausted = ValidationFailure(
            FailureCode.RETRIES_EXHAUSTED, "request", "intake could not forward the request on any delivery"
        )
        outcome = rejection(
            request.request_id,
            message.trigger,
            exhausted,
            datastore_id=request.datastore_id,
            image_set_id=request.image_set_id,
        )
        ended = self._intake.end(
            request.request_id, request.content_digest(), body, outcome, caller=sender.caller
        )
        return ended.outcome
