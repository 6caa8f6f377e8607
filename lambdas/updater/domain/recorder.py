"""OutcomeRecorder: one recorded, published terminal outcome per request, whoever gets there first.

Order is what makes "nothing lost, nothing doubled" hold across crashes: the outcome is stored in
the ledger (a conditional write, so racing deliveries agree on one), then a failed request's record
goes to the failures queue, then the event is published, and only then is the entry marked
published. A delivery that finds the entry stored but unpublished publishes the *stored* outcome
again; it never computes a second one. The failure record goes before the event so that a record
SQS refuses cannot make every retry publish another event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from updater.domain.audit import AuditContext, AuditSink, audit_record
from updater.domain.errors import RetryableServiceError
from updater.domain.ledger import LedgerEntry, LedgerStatus, StoredOutcome
from updater.domain.outcome import OutcomeStatus, UpdateOutcome
from updater.domain.ports import Clock, FailureSink, Ledger, MetricsSink, OutcomeSink


class EndedHook(Protocol):
    def child_ended(self, entry: LedgerEntry, outcome: UpdateOutcome) -> None:
        """A request ended (or its end was replayed): a fan-out's child counts on its parent."""
        ...


@dataclass(frozen=True)
class Ending:
    """A request's terminal outcome, with the body it arrived as and what its audit record needs."""

    outcome: UpdateOutcome
    body: str
    audit: AuditContext | None = None


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
        """Record and announce `outcome`; returns the outcome that holds (maybe an earlier one)."""
        return self.finish_all([Ending(outcome, body, audit)])[0]

    def finish_all(self, endings: Sequence[Ending]) -> list[UpdateOutcome]:
        """`finish` for requests that end together (the members of a coalesced call), in order;
        the outcomes that hold. Each request goes through the same order as alone; the events of
        those stored here go out together, then their `published` marks (one PutEvents and one
        ledger write for up to ten, instead of one of each per request).

        The audit record goes first: a crash after it writes it again on the next delivery (the
        same record id), while a crash before it would leave a stored outcome with no record."""
        held: list[UpdateOutcome] = []
        stored: list[tuple[Ending, LedgerEntry]] = []
        for ending in endings:
            recorded = self._store(ending)
            if recorded.stored:
                stored.append((ending, recorded.entry))
                held.append(ending.outcome)
            else:  # an earlier or racing delivery got there first: its outcome is the one
                held.append(self.replay(recorded.entry, ending.body))
        self._announce([(ending.outcome, ending.body) for ending, _ in stored])
        for ending, entry in stored:
            self._count(ending.outcome)
            self._ended(entry, ending.outcome)
        return held

    def _store(self, ending: Ending) -> StoredOutcome:
        outcome = ending.outcome
        if self._auditor is not None:
            now_ms = int(self._clock.now() * 1000) if self._clock is not None else 0
            self._auditor.record(audit_record(outcome, ending.audit or AuditContext(), recorded_at_ms=now_ms))
        status = LedgerStatus.SUCCEEDED if outcome.status is OutcomeStatus.SUCCEEDED else LedgerStatus.FAILED
        return self._ledger.record_outcome(outcome.request_id, status, outcome.model_dump(mode="json"))

    def replay(self, entry: LedgerEntry, body: str) -> UpdateOutcome:
        """A request that already ended: announce it again only if its announcement was cut off."""
        stored = UpdateOutcome.model_validate(entry.outcome)
        if entry.published:
            self._metrics.count("Duplicate")
        else:
            self._announce([(stored, body)])
        self._ended(entry, stored)  # again on every replay: the parent's count may have been cut off
        return stored

    def _ended(self, entry: LedgerEntry, outcome: UpdateOutcome) -> None:
        if self._on_ended is not None and entry.parent_id is not None:
            self._on_ended.child_ended(entry, outcome)

    def _announce(self, announced: Sequence[tuple[UpdateOutcome, str]]) -> None:
        if not announced:
            return
        for outcome, body in announced:
            if outcome.status is OutcomeStatus.FAILED:
                self._failures.send(
                    body,
                    request_id=outcome.request_id,
                    code=str(outcome.error_code),
                    message=outcome.error_message or "",
                )
        accepted = self._events.publish_many([outcome for outcome, _ in announced])
        if accepted:
            self._ledger.mark_published_many(accepted)
        if len(accepted) < len(announced):  # the rest stay unpublished: their next delivery publishes
            raise RetryableServiceError("PutEventsFailedEntry", "outcome events not all accepted")

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
