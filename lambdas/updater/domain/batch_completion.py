"""A parent ends once, when its last child ends: whichever child that is, in whatever order.

Every terminal outcome of a child passes the OutcomeRecorder (intake, the lane, the finalizer all
end requests through it), which calls `BatchCompletion.child_ended` after the child's own outcome
is stored and announced, and again whenever that outcome is replayed (a redelivery). So a crash
between the child's outcome and its parent's bookkeeping is repaired by the child's next delivery.

    child ends ─► result kept on the parent (keyed by child: idempotent) ─► all children ended?
        └─ yes ─► aggregate ─► BatchRecorder.finish: stored once (conditional) ─► published ─► marked

The aggregate is computed from the stored results, so every child that finds the set complete
computes the same one; the parent's conditional write lets one of them store it, the others replay
the stored one, which they publish only if its publication was cut off (the OutcomeRecorder's
discipline, applied to the parent).
"""

from __future__ import annotations

from updater.domain.batch import BatchOutcome, BatchStatus, ChildResult, aggregate
from updater.domain.ledger import LedgerEntry, LedgerStatus
from updater.domain.outcome import UpdateOutcome
from updater.domain.ports import FailureSink, FanOuts, Ledger, MetricsSink, OutcomeSink


class BatchRecorder:
    """One stored, published outcome per parent."""

    def __init__(
        self, ledger: Ledger, events: OutcomeSink, failures: FailureSink, metrics: MetricsSink
    ) -> None:
        self._ledger = ledger
        self._events = events
        self._failures = failures
        self._metrics = metrics

    def finish(self, outcome: BatchOutcome, body: str | None = None) -> BatchOutcome:
        """Store and announce `outcome`; the outcome that holds (maybe an earlier one). `body`: the
        parent's request, for the failures queue when the parent itself failed (children that
        failed have records of their own)."""
        status = LedgerStatus.SUCCEEDED if outcome.status is BatchStatus.SUCCEEDED else LedgerStatus.FAILED
        recorded = self._ledger.record_outcome(outcome.request_id, status, outcome.model_dump(mode="json"))
        if not recorded.stored:
            return self.replay(recorded.entry, body)
        self._announce(outcome, body)
        self._metrics.count(outcome.detail_type().rsplit(".", 1)[-1])
        if outcome.error_code is not None:
            self._metrics.count("FailedByReason", reason=outcome.error_code.value)
        return outcome

    def replay(self, entry: LedgerEntry, body: str | None = None) -> BatchOutcome:
        stored = BatchOutcome.model_validate(entry.outcome)
        if entry.published:
            self._metrics.count("Duplicate")
        else:
            self._announce(stored, body)
        return stored

    def _announce(self, outcome: BatchOutcome, body: str | None) -> None:
        if body is not None and outcome.status is BatchStatus.FAILED:
            self._failures.send(
                body,
                request_id=outcome.request_id,
                code=str(outcome.error_code),
                message=outcome.error_message or "",
            )
        self._events.publish_detail(outcome.detail_type(), outcome.model_dump(mode="json", by_alias=True))
        self._ledger.mark_published(outcome.request_id)


class BatchCompletion:
    """The OutcomeRecorder's hook for children: counts each on its parent, ends the parent once."""

    def __init__(self, fan_outs: FanOuts, batches: BatchRecorder, ledger: Ledger) -> None:
        self._fan_outs = fan_outs
        self._batches = batches
        self._ledger = ledger

    def child_ended(self, entry: LedgerEntry, outcome: UpdateOutcome) -> None:
        if entry.parent_id is not None:
            self.count(entry.parent_id, ChildResult.of(outcome))

    def count(self, parent_id: str, result: ChildResult) -> None:
        """One child's result on its parent; the parent ends when this completes its set."""
        record = self._fan_outs.child_ended(parent_id, result)
        if record is None or not record.complete:
            return
        parent = self._ledger.get(parent_id)
        if parent is not None and parent.terminal:
            if not parent.published:  # stored, its announcement cut off
                self._batches.replay(parent)
            return
        self._batches.finish(aggregate(parent_id, record))
