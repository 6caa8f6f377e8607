"""OutcomeRecorder: turns a finished attempt into exactly one recorded, published terminal outcome.

Order matters for "nothing lost, nothing doubled": the outcome is stored in the ledger first (a
conditional write, so two racing invocations agree on one outcome), then published as an event,
then a failed request's body goes to the DLQ, and only then is the entry marked published. A crash
in between makes the redelivered message publish the *stored* outcome; it never computes a second one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from updater.adapters.ledger import Ledger, LedgerEntry, LedgerStatus
from updater.adapters.outcomes import FailureQueue, OutcomePublisher
from updater.domain.outcome import OutcomeStatus, UpdateOutcome


class MetricsSink(Protocol):
    def count(self, name: str, value: float = 1, reason: str | None = None) -> None: ...

    def observe(self, name: str, value: float, unit: str) -> None: ...


class OutcomeRecorder:
    def __init__(
        self,
        ledger: Ledger,
        publisher: OutcomePublisher,
        failure_queue: FailureQueue,
        metrics: MetricsSink,
        log_outcome: Callable[[UpdateOutcome], None] = lambda _outcome: None,
    ) -> None:
        self._ledger = ledger
        self._publisher = publisher
        self._failures = failure_queue
        self._metrics = metrics
        self._log = log_outcome

    def finish(self, outcome: UpdateOutcome, body: str, *, publish: bool = True) -> UpdateOutcome:
        status = LedgerStatus.SUCCEEDED if outcome.status == OutcomeStatus.SUCCEEDED else LedgerStatus.FAILED
        document = outcome.model_dump(mode="json")
        entry = self._ledger.record_outcome(outcome.request_id, status, document)
        if entry.outcome != document:  # another invocation got there first: its outcome is the one
            return self.replay(entry, body, publish=publish)
        if not publish:  # a coalesced call's own record: its members carry the events
            self._ledger.mark_published(outcome.request_id)
            return outcome
        self._publish(outcome, body)
        self._count(outcome)
        return outcome

    def replay(self, entry: LedgerEntry, body: str, *, publish: bool = True) -> UpdateOutcome:
        """A redelivered request that already ended: re-publish only if publication was cut off.

        `publish=False` (a coalesced call's own entry) only sets the flag a cut-off left unset: the
        call's members carry the events, and an event for the call itself is one nobody sent."""
        stored = UpdateOutcome.model_validate(entry.outcome)
        if entry.published:
            self._metrics.count("Duplicate")
        elif publish:
            self._publish(stored, body)
        else:
            self._ledger.mark_published(entry.request_id)
        return stored

    def _publish(self, outcome: UpdateOutcome, body: str) -> None:
        self._publisher.publish(outcome)
        if outcome.status == OutcomeStatus.FAILED:
            self._failures.send(
                body,
                request_id=outcome.request_id,
                code=str(outcome.error_code),
                message=outcome.error_message or "",
            )
        self._ledger.mark_published(outcome.request_id)
        self._log(outcome)

    def _count(self, outcome: UpdateOutcome) -> None:
        if outcome.status == OutcomeStatus.FAILED:
            self._metrics.count("UpdateFailed")
            self._metrics.count("FailedByReason", reason=str(outcome.error_code))
            return
        self._metrics.count("Succeeded")
        if outcome.noop:
            self._metrics.count("NoOp")
        if outcome.polls:
            self._metrics.observe("PollsPerUpdate", outcome.polls, "Count")
        if outcome.settle_ms is not None:
            self._metrics.observe("TimeToSettleMs", outcome.settle_ms, "Milliseconds")
