"""How intake ends a record under a key: what it admitted, and the claim that binds a key to content.

A claim binds a key (the requestId, as reported) to the content that first used it: the same
content again replays its outcome; other content under the same key ends REQUEST_ID_REUSED under a
key of its own (``identifiers.reused_key``) and never touches the original's entry or outcome.
Requests, rejections, refusals and parents (``domain.fan_out``) all end through `KeyedEndings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from updater.domain.audit import AuditContext, Caller
from updater.domain.errors import FailureCode, ValidationFailure
from updater.domain.identifiers import reported_resource_id, reused_key
from updater.domain.ledger import LedgerEntry
from updater.domain.notices import SettleNotice
from updater.domain.outcome import UpdateOutcome, rejection
from updater.domain.ports import Clock, Ledger, MetricsSink
from updater.domain.recorder import OutcomeRecorder
from updater.domain.request import UpdateRequest


class Admission(StrEnum):
    FORWARDED = "forwarded"  # on its lane (a parent: its children on theirs)
    REJECTED = "rejected"  # ended FAILED here, with its reason
    DUPLICATE = "duplicate"  # the same content had ended before: its outcome replayed if unannounced
    IMPORT = "import"  # an import reaction ran; its planned requests were admitted
    NOTICE = "notice"  # HealthImaging announced a version settled; its lane was told
    IGNORED = "ignored"  # a legitimate event with nothing to do (its reason says which)


@dataclass(frozen=True)
class Admitted:
    admission: Admission
    outcome: UpdateOutcome | None = None
    reason: str = ""  # an IgnoredReason, or an HL7 event the updater does not map (HL7_A01)
    notice: SettleNotice | None = None  # NOTICE: the version its lane was told settled

    @property
    def code(self) -> str:
        """What the record ended with, for its log line: a failure code or an ignored reason."""
        if self.outcome is not None and self.outcome.error_code is not None:
            return self.outcome.error_code.value
        return self.reason


REUSED = ValidationFailure(
    FailureCode.REQUEST_ID_REUSED, "requestId", "requestId was used before for other content"
)


def request_rejection(
    key: str, request: UpdateRequest, trigger: str, failure: ValidationFailure
) -> UpdateOutcome:
    return rejection(
        key,
        trigger,
        failure,
        datastore_id=reported_resource_id(request.datastore_id),
        image_set_id=reported_resource_id(request.image_set_id),
    )


class KeyedEndings:
    def __init__(self, ledger: Ledger, recorder: OutcomeRecorder, metrics: MetricsSink, clock: Clock) -> None:
        self._ledger = ledger
        self._recorder = recorder
        self._metrics = metrics
        self._clock = clock

    def end(
        self, key: str, digest: str, body: str, outcome: UpdateOutcome, *, caller: Caller | None = None
    ) -> Admitted:
        """End the content `digest` with `outcome` under `key`, unless `key` is bound to other
        content (REQUEST_ID_REUSED) or ended before (its outcome replayed)."""
        entry = self.claim(key, digest, outcome.datastore_id, outcome.image_set_id)
        if entry is None:
            return self.reused(key, digest, body, outcome, caller)
        return self._finish(entry, outcome, body, caller)

    def claim(self, key: str, digest: str, datastore_id: str, image_set_id: str) -> LedgerEntry | None:
        """The entry `key` holds for this content, created if new; None when it holds other content.
        (An entry without a digest predates binding and counts as the same content.)"""
        opened = self._ledger.open(
            key,
            digest=digest,
            datastore_id=datastore_id,
            image_set_id=image_set_id,
            received_at_ms=int(self._clock.now() * 1000),
        )
        entry = opened.entry
        return None if not opened.created and entry.digest and entry.digest != digest else entry

    def reused(
        self, key: str, digest: str, body: str, outcome: UpdateOutcome, caller: Caller | None
    ) -> Admitted:
        """The newcomer's own outcome, under its own key; the original's entry is not touched."""
        self._metrics.count("RequestIdReused")
        own_key = reused_key(key, digest)
        reused = outcome.failed(FailureCode.REQUEST_ID_REUSED, REUSED.message).model_copy(
            update={"request_id": own_key, "reused_request_id": key}
        )
        # Keyed by the newcomer's digest, so its key is bound to its content by construction.
        opened = self._ledger.open(
            own_key,
            digest=digest,
            datastore_id=reused.datastore_id,
            image_set_id=reused.image_set_id,
            received_at_ms=int(self._clock.now() * 1000),
        )
        return self._finish(opened.entry, reused, body, caller)

    def replay(self, entry: LedgerEntry, body: str) -> Admitted:
        return Admitted(Admission.DUPLICATE, self._recorder.replay(entry, body))

    def _finish(
        self, entry: LedgerEntry, outcome: UpdateOutcome, body: str, caller: Caller | None
    ) -> Admitted:
        if entry.terminal:
            return self.replay(entry, body)
        audit = AuditContext(caller=caller or Caller(), received_at_ms=entry.received_at_ms)
        return Admitted(Admission.REJECTED, self._recorder.finish(outcome, body, audit))
