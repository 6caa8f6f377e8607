"""OutcomeRecorder: one recorded, published terminal outcome per request, whoever gets there first.

Order is what makes "nothing lost, nothing doubled" hold across crashes: the outcome is stored in
the ledger (a conditional write, so racing deliveries agree on one), then a failed request's record
goes to the failures queue, then the event is published, and only then is the entry marked
published. A delivery that finds the entry stored but unpublished publishes the *stored* outcome
again; it never computes a second one. The failure record goes before the event so that a record
SQS refuses cannot make every retry publish another event.
"""

from __future__ import annotations

from typing import Protocol

from updater.domain.audit import AuditContext, AuditSink, audit_record
from updater.domain.ledger import LedgerEntry, LedgerStatus
from updater.domain.outcome import OutcomeStatus, UpdateOutcome
from updater.domain.ports import Clock, FailureSink, Ledger, MetricsSink, OutcomeSink


class EndedHook(Protocol):
    def child_ended(self, entry: LedgerEntry, outcome: UpdateOutcome) -> None:
        """A request ended (or its end was replayed): a fan-out's child counts on its parent."""
        ...


class OutcomeRecorder:
    def __init__(
        self,
        ledger: Ledger,
        events: OutcomeSink,
        failures: FailureSink,
        metrics: MetricsSink,
        *,
        auditor: AuditSink | None = None,
        clock: Clock | None = None,
        on_ended: EndedHook | None = None,
    ) -> None:
        self._ledger = ledger
        self._events = events
        self._failures = failures
        self._metrics = metrics
        self._auditor = auditor
        self._clock = clock
        self._on_ended = on_ended

    @property
    def audits(self) -> bool:
        """Whether outcomes are audited (then the caller should give their values)."""
        return self._auditor is not None

    def finish(self, outcome: UpdateOutcome, body: str, audit: AuditContext | None = None) -> UpdateOutcome:
        """Record and announce `outcome`; returns the outcome that holds (maybe an earlier one).

        The audit record goes first: a crash after it writes it again on the next delivery (the
        same record id), while a crash before it would leave a stored outcome with no record."""
        if self._auditor is not None:
            now_ms = int(self._clock.now() * 1000) if self._clock is not None else 0
            self._auditor.record(audit_record(outcome, audit or AuditContext(), recorded_at_ms=now_ms))
        status = LedgerStatus.SUCCEEDED if outcome.status is OutcomeStatus.SUCCEEDED else LedgerStatus.FAILED
        document = outcome.model_dump(mode="json")
        recorded = self._ledger.record_outcome(outcome.request_id, status, document)
        if not recorded.stored:  # an earlier or racing delivery got there first: its outcome is the one
            return self.replay(recorded.entry, body)
        self._announce(outcome, body)
        self._count(outcome)
        self._ended(recorded.entry, outcome)
        return outcome

    def replay(self, entry: LedgerEntry, body: str) -> UpdateOutcome:
        """A request that already ended: announce it again only if its announcement was cut off."""
        stored = UpdateOutcome.model_validate(entry.outcome)
        if entry.published:
            self._metrics.count("Duplicate")
        else:
            self._announce(stored, body)
        self._ended(entry, stored)  # again on every replay: the parent's count may have been cut off
        return stored

    def _ended(self, entry: LedgerEntry, outcome: UpdateOutcome) -> None:
        if self._on_ended is not None and entry.parent_id is not None:
            self._on_ended.child_ended(entry, outcome)

    def _announce(self, outcome: UpdateOutcome, body: str) -> None:
        if outcome.status is OutcomeStatus.FAILED:
            self._failures.send(
                body,
                request_id=outcome.request_id,
                code=str(outcome.error_code),
                message=outcome.error_message or "",
            )
        self._events.publish(outcome)
        self._ledger.mark_published(outcome.request_id)

    def _count(self, outcome: UpdateOutcome) -> None:
        if outcome.status is OutcomeStatus.FAILED:
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
