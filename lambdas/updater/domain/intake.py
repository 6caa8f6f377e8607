"""Intake: every message on the ingest queues is classified, validated and either ended at once
with its outcome or forwarded to its image set's lane.

    body ─► classify ─┬─ request ─► validate ─┬─ invalid ─► claim ─► recorder.finish (FAILED, its code)
                      │                       └─ valid ───► claim ─► lane.send (group = image set)
                      ├─ rejected (not a request, or an event the updater does not take) ─► claim ─► FAILED
                      ├─ import completed ─► import reaction ─► its planned requests take the request path
                      ├─ image set updated / update failed ─► its lane's wait ends (domain.notices)
                      └─ a settle event no open call awaits ─► ignored, counted with its reason

Provenance comes first (``domain.provenance``): who sent the record, from its transport. A record
refused for that (an unknown caller, a right it lacks, a forged service event) ends under a key of
its own (``provenance.refused_key``) and touches nothing else.

A claim binds a key (the requestId, as reported) to the content that first used it: the same
content again replays its outcome; other content under the same key ends REQUEST_ID_REUSED under a
key of its own (``identifiers.reused_key``) and never touches the original's entry or outcome.

Nothing here waits: intake is fast and stateless, so its queues drain at the rate requests come;
all waiting happens on the lane, one image set at a time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from updater.domain.audit import AuditContext, Caller
from updater.domain.callers import Identified
from updater.domain.errors import FailureCode, ValidationFailure
from updater.domain.identifiers import (
    reported_request_id,
    reported_resource_id,
    reused_key,
)
from updater.domain.inbound import (
    InboundMessage,
    RejectedMessage,
    RequestMessage,
    SettleNoticeMessage,
    classify,
    content_digest,
)
from updater.domain.lane_message import lane_message
from updater.domain.ledger import LedgerEntry
from updater.domain.notices import SettleNotices
from updater.domain.outcome import UpdateOutcome, body_request_id, rejection
from updater.domain.ports import Clock, Lane, Ledger, MetricsSink
from updater.domain.provenance import Channel, Origin, Provenance, refused_key
from updater.domain.recorder import OutcomeRecorder
from updater.domain.request import UpdateRequest, parse_update_request
from updater.domain.validation import validate_request


class Admission(StrEnum):
    FORWARDED = "forwarded"  # on its lane
    REJECTED = "rejected"  # ended FAILED here, with its reason
    DUPLICATE = "duplicate"  # the same content had ended before: its outcome replayed if unannounced
    IMPORT = "import"  # an import reaction ran; its planned requests were admitted
    NOTICE = "notice"  # HealthImaging announced a version settled; its lane was told
    IGNORED = "ignored"  # a legitimate event with nothing to do (its reason says which)


class IgnoredReason(StrEnum):
    NOTICE_NOT_AWAITED = "NOTICE_NOT_AWAITED"  # a settle event for no open call of the updater
    IMPORTS_NOT_CONFIGURED = "IMPORTS_NOT_CONFIGURED"


@dataclass(frozen=True)
class Admitted:
    admission: Admission
    outcome: UpdateOutcome | None = None
    reason: str = ""  # an IgnoredReason

    @property
    def code(self) -> str:
        """What the record ended with, for its log line: a failure code or an ignored reason."""
        if self.outcome is not None and self.outcome.error_code is not None:
            return self.outcome.error_code.value
        return self.reason


class ImportReaction(Protocol):
    def react(self, envelope: Mapping[str, Any], forward: RequestForwarder) -> None:
        """Plan the import's updates and forward them; raises RetryableServiceError when a later
        delivery may succeed."""
        ...


class RequestForwarder(Protocol):
    def send(self, requests: Sequence[Mapping[str, Any]]) -> int: ...


@dataclass(frozen=True)
class IntakeRules:
    payload_limit_bytes: int
    allowed_datastores: frozenset[str]

    def in_scope(self, datastore_id: str) -> bool:
        return not self.allowed_datastores or datastore_id in self.allowed_datastores


class Intake:
    def __init__(
        self,
        *,
        ledger: Ledger,
        lane: Lane,
        recorder: OutcomeRecorder,
        metrics: MetricsSink,
        clock: Clock,
        rules: IntakeRules,
        provenance: Provenance,
        imports: ImportReaction | None = None,
        notices: SettleNotices | None = None,
    ) -> None:
        self._provenance = provenance
        self._ledger = ledger
        self._lane = lane
        self._recorder = recorder
        self._metrics = metrics
        self._clock = clock
        self._rules = rules
        self._imports = imports
        self._notices = notices

    def judge(self, message: InboundMessage, body: str, origin: Origin) -> Identified | ValidationFailure:
        """Who sent the record, or why it is refused for how it arrived."""
        return self._provenance.judge(message, body, origin)

    def admit(self, body: str, origin: Origin) -> Admitted:
        message = classify(body)
        verdict = self.judge(message, body, origin)
        if isinstance(verdict, ValidationFailure):
            return self.refuse(body, message, verdict, origin)
        if isinstance(message, RequestMessage):
            return self.admit_request(message.request, trigger=message.trigger, body=body, sender=verdict)
        if isinstance(message, RejectedMessage):
            return self.reject(body, message, caller=verdict.caller)
        if isinstance(message, SettleNoticeMessage):
            if not self._rules.in_scope(message.notice.lane.datastore_id):
                failure = ValidationFailure(
                    FailureCode.EVENT_OUT_OF_SCOPE, "event", "the event is for a data store out of scope"
                )
                digest = content_digest(None, body)
                return self.reject(
                    body, RejectedMessage(failure, "eventbridge", digest=digest), caller=verdict.caller
                )
            if self._notices is None or not self._notices.receive(message.notice):
                return self._ignored(IgnoredReason.NOTICE_NOT_AWAITED)
            return Admitted(Admission.NOTICE)
        if self._imports is None:
            return self._ignored(IgnoredReason.IMPORTS_NOT_CONFIGURED)
        self._imports.react(message.envelope, _ImportForwarder(self, verdict))
        return Admitted(Admission.IMPORT)

    def admit_request(
        self, request: UpdateRequest, *, trigger: str, body: str, sender: Identified
    ) -> Admitted:
        key, digest = reported_request_id(request.request_id), request.content_digest()
        refusal = sender.authorize(request)
        if refusal is not None:
            own = refused_key(key, sender.caller.identity, digest)
            outcome = _request_rejection(own, request, trigger, refusal)
            return self.end(own, digest, body, outcome, caller=sender.caller)
        failure = self.validation_failure(request)
        if failure is not None:
            outcome = _request_rejection(key, request, trigger, failure)
            return self.end(key, digest, body, outcome, caller=sender.caller)
        entry = self._claim(key, digest, request.datastore_id, request.image_set_id)
        if entry is None:
            reused = _request_rejection(key, request, trigger, _REUSED)
            return self._reused(key, digest, body, reused, sender.caller)
        if entry.terminal:
            return Admitted(Admission.DUPLICATE, self._recorder.replay(entry, body))
        message = lane_message(
            request, trigger=trigger, received_at_ms=entry.received_at_ms, caller=sender.caller
        )
        self._lane.send(message.group_id, message.dedup_id, message.body())
        self._metrics.count("Forwarded")
        return Admitted(Admission.FORWARDED)

    def refuse(
        self, body: str, message: InboundMessage, failure: ValidationFailure, origin: Origin
    ) -> Admitted:
        """A record refused for how it arrived: under a key of its own, whatever it claims to be."""
        self._metrics.count("Refused", reason=failure.code.value)
        digest = content_digest(None, body)
        claimed = message.request.request_id if isinstance(message, RequestMessage) else None
        key = reported_request_id(claimed) if claimed else body_request_id(body)
        identity = origin.sender_id or (origin.rule.value if origin.rule else origin.channel.value)
        own = refused_key(key, identity, digest)
        trigger = "sqs" if origin.channel is Channel.CALLER_QUEUE else "eventbridge"
        outcome = (
            _request_rejection(own, message.request, trigger, failure)
            if isinstance(message, RequestMessage)
            else rejection(own, trigger, failure)
        )
        return self.end(own, digest, body, outcome, caller=Caller(identity=identity))

    def validation_failure(self, request: UpdateRequest) -> ValidationFailure | None:
        """The first rule the request breaks (the outcome names one reason), or None."""
        failures = validate_request(
            request,
            max_payload_bytes=self._rules.payload_limit_bytes,
            allowed_datastores=self._rules.allowed_datastores,
        )
        return failures[0] if failures else None

    def reject(self, body: str, message: RejectedMessage, *, caller: Caller | None = None) -> Admitted:
        """A message that is not a well-formed request: one terminal failure, under the requestId
        it carried (as reported) or, without one, its content hash."""
        key = message.request_id or body_request_id(body)
        outcome = rejection(
            key,
            message.trigger,
            message.failure,
            datastore_id=message.datastore_id,
            image_set_id=message.image_set_id,
        )
        return self.end(key, message.digest or content_digest(None, body), body, outcome, caller=caller)

    def end(
        self, key: str, digest: str, body: str, outcome: UpdateOutcome, *, caller: Caller | None = None
    ) -> Admitted:
        """End the content `digest` with `outcome` under `key`, unless `key` is bound to other
        content (REQUEST_ID_REUSED) or ended before (its outcome replayed)."""
        entry = self._claim(key, digest, outcome.datastore_id, outcome.image_set_id)
        if entry is None:
            return self._reused(key, digest, body, outcome, caller)
        return self._finish(entry, outcome, body, caller)

    def _claim(self, key: str, digest: str, datastore_id: str, image_set_id: str) -> LedgerEntry | None:
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

    def _reused(
        self, key: str, digest: str, body: str, outcome: UpdateOutcome, caller: Caller | None
    ) -> Admitted:
        """The newcomer's own outcome, under its own key; the original's entry is not touched."""
        self._metrics.count("RequestIdReused")
        own_key = reused_key(key, digest)
        reused = outcome.failed(FailureCode.REQUEST_ID_REUSED, _REUSED.message).model_copy(
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

    def _finish(
        self, entry: LedgerEntry, outcome: UpdateOutcome, body: str, caller: Caller | None
    ) -> Admitted:
        if entry.terminal:
            return Admitted(Admission.DUPLICATE, self._recorder.replay(entry, body))
        audit = AuditContext(caller=caller or Caller(), received_at_ms=entry.received_at_ms)
        return Admitted(Admission.REJECTED, self._recorder.finish(outcome, body, audit))

    def _ignored(self, reason: IgnoredReason) -> Admitted:
        self._metrics.count("Ignored", reason=reason.value)
        return Admitted(Admission.IGNORED, reason=reason.value)


_REUSED = ValidationFailure(
    FailureCode.REQUEST_ID_REUSED, "requestId", "requestId was used before for other content"
)


def _request_rejection(
    key: str, request: UpdateRequest, trigger: str, failure: ValidationFailure
) -> UpdateOutcome:
    return rejection(
        key,
        trigger,
        failure,
        datastore_id=reported_resource_id(request.datastore_id),
        image_set_id=reported_resource_id(request.image_set_id),
    )


class _ImportForwarder:
    """An import's planned requests enter intake like any other request (trigger `import`)."""

    def __init__(self, intake: Intake, sender: Identified) -> None:
        self._intake = intake
        self._sender = sender

    def send(self, requests: Sequence[Mapping[str, Any]]) -> int:
        for planned in requests:
            request = parse_update_request(planned)
            body = json.dumps(request.wire_dict(), separators=(",", ":"), ensure_ascii=False)
            self._intake.admit_request(request, trigger="import", body=body, sender=self._sender)
        return len(requests)
