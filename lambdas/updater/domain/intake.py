"""Intake: every message on the ingest queues is classified, validated and either ended at once
with its outcome or forwarded to its image set's lane.

    body ─► classify ─┬─ request ─► validate ─┬─ invalid ─► claim ─► recorder.finish (FAILED, its code)
                      │                       └─ valid ───► claim ─► lane.send (group = image set)
                      ├─ rejected (not a request, or an event the updater does not take) ─► claim ─► FAILED
                      ├─ selector / merge ─► fan-out (domain.fan_out) ─► each child takes the request path
                      ├─ import completed ─► import reaction ─► its planned requests take the request path
                      ├─ image set updated / update failed ─► its lane's wait ends (domain.notices)
                      └─ a settle event no open call awaits ─► ignored, counted with its reason

A body is JSON unless its `contentType` says HL7 v2 (``domain.content_types``): an ADT message
is translated into a selector or merge, or ignored (an event the updater does not map).

Provenance comes first (``domain.provenance``): who sent the record, from its transport. A record
refused for that (an unknown caller, a right it lacks, a forged service event) ends under a key of
its own (``provenance.refused_key``) and touches nothing else.

A claim binds a key to the content that first used it (``domain.admission``): other content
under the same key ends REQUEST_ID_REUSED and never touches the original's entry or outcome.

Nothing here waits: intake is fast and stateless, so its queues drain at the rate requests come;
all waiting happens on the lane, one image set at a time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from updater.domain.admission import REUSED, Admission, Admitted, KeyedEndings, request_rejection
from updater.domain.audit import Caller
from updater.domain.batch import BatchStatus
from updater.domain.callers import Identified, Right
from updater.domain.content_types import MessageTranslator, NotForUpdater, is_hl7, is_json, unsupported
from updater.domain.errors import FailureCode, ValidationFailure
from updater.domain.fan_out import FanOut
from updater.domain.identifiers import (
    reported_request_id,
    reported_resource_id,
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
from updater.domain.notices import SettleNotices
from updater.domain.outcome import UpdateOutcome, body_request_id, rejection
from updater.domain.ports import Clock, Lane, Ledger, MetricsSink
from updater.domain.provenance import Channel, Origin, Provenance, refused_key
from updater.domain.recorder import OutcomeRecorder
from updater.domain.request import UpdateRequest, parse_update_request
from updater.domain.selectors import ParentMessage, template_request
from updater.domain.validation import validate_request

__all__ = ["Admission", "Admitted", "IgnoredReason", "Intake", "IntakeRules", "RequestForwarder"]


class IgnoredReason(StrEnum):
    NOTICE_NOT_AWAITED = "NOTICE_NOT_AWAITED"  # a settle event for no open call of the updater
    IMPORTS_NOT_CONFIGURED = "IMPORTS_NOT_CONFIGURED"
    SELECTORS_NOT_CONFIGURED = "SELECTORS_NOT_CONFIGURED"


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
        fan_out: FanOut | None = None,
        hl7: MessageTranslator | None = None,
    ) -> None:
        self._provenance = provenance
        self._ledger = ledger
        self._lane = lane
        self._endings = KeyedEndings(ledger, recorder, metrics, clock)
        self._metrics = metrics
        self._clock = clock
        self._rules = rules
        self._imports = imports
        self._notices = notices
        self._fan_out = fan_out
        self._hl7 = hl7

    def inbound(self, body: str, content_type: str | None = None) -> InboundMessage | NotForUpdater:
        """What the message is, by its content type (JSON unless the sender said otherwise)."""
        if is_json(content_type):
            return classify(body)
        if is_hl7(content_type) and self._hl7 is not None:
            return self._hl7.translate(body)
        return unsupported(content_type or "")

    def judge(
        self, message: InboundMessage | NotForUpdater, body: str, origin: Origin
    ) -> Identified | ValidationFailure:
        """Who sent the record, or why it is refused for how it arrived."""
        return self._provenance.judge(message, body, origin)

    def admit(
        self, body: str, origin: Origin, content_type: str | None = None, *, lane: Lane | None = None
    ) -> Admitted:
        """`lane`: where a request the record carries is forwarded, when not straight to the lane
        queue (the handler's batch of sends). A fan-out's children and an import's requests always
        go straight: what records them as sent must come after their sends."""
        message = self.inbound(body, content_type)
        verdict = self.judge(message, body, origin)
        if isinstance(verdict, ValidationFailure):
            return self.refuse(body, message, verdict, origin)
        if isinstance(message, NotForUpdater):
            return self._ignored(message.reason)
        if isinstance(message, ParentMessage):
            return self.admit_parent(message, body, sender=verdict)
        if isinstance(message, RequestMessage):
            return self.admit_request(
                message.request, trigger=message.trigger, body=body, sender=verdict, lane=lane
            )
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
            return Admitted(Admission.NOTICE, notice=message.notice)
        if self._imports is None:
            return self._ignored(IgnoredReason.IMPORTS_NOT_CONFIGURED)
        self._imports.react(message.envelope, _ImportForwarder(self, verdict))
        return Admitted(Admission.IMPORT)

    def admit_request(
        self, request: UpdateRequest, *, trigger: str, body: str, sender: Identified, lane: Lane | None = None
    ) -> Admitted:
        key, digest = reported_request_id(request.request_id), request.content_digest()
        refusal = sender.authorize(request)
        if refusal is not None:
            own = refused_key(key, sender.caller.identity, digest)
            outcome = request_rejection(own, request, trigger, refusal)
            return self.end(own, digest, body, outcome, caller=sender.caller)
        failure = self.validation_failure(request)
        if failure is not None:
            outcome = request_rejection(key, request, trigger, failure)
            return self.end(key, digest, body, outcome, caller=sender.caller)
        entry = self._endings.claim(key, digest, request.datastore_id, request.image_set_id)
        if entry is None:
            reused = request_rejection(key, request, trigger, REUSED)
            return self._endings.reused(key, digest, body, reused, sender.caller)
        if entry.terminal:
            return self._endings.replay(entry, body)
        message = lane_message(
            request, trigger=trigger, received_at_ms=entry.received_at_ms, caller=sender.caller
        )
        (lane or self._lane).send(message.group_id, message.dedup_id, message.body())
        self._metrics.count("Forwarded")
        return Admitted(Admission.FORWARDED)

    def admit_parent(
        self, message: ParentMessage, body: str, *, sender: Identified, last_try: bool = False
    ) -> Admitted:
        """A selector or merge: authorized as its children will be, plus the right to change a patient
        or a study at once, then resolved and fanned out (domain.fan_out); each child carries the
        parent's caller. `last_try` (the finalizer): only what was recorded is sent, nothing searched."""
        parent = message.request
        if self._fan_out is None:
            return self._ignored(IgnoredReason.SELECTORS_NOT_CONFIGURED)
        key, digest = reported_request_id(parent.request_id), parent.content_digest()
        refusal = sender.authorize(template_request(parent), extra=frozenset({Right.PATIENT_LEVEL}))
        if refusal is not None:
            own = refused_key(key, sender.caller.identity, digest)
            outcome = rejection(
                own, message.trigger, refusal, datastore_id=reported_resource_id(parent.datastore_id)
            )
            return self.end(own, digest, body, outcome, caller=sender.caller)
        fan_out = self._fan_out.resend if last_try else self._fan_out.admit
        done = fan_out(parent, trigger=message.trigger, body=body, forward=_ChildForwarder(self, sender))
        if done.reused:
            outcome = rejection(key, message.trigger, REUSED, datastore_id=parent.datastore_id)
            return self._endings.reused(key, digest, body, outcome, sender.caller)
        if done.outcome is None:
            return Admitted(Admission.DUPLICATE if done.duplicate else Admission.FORWARDED)
        ended = Admission.REJECTED if done.outcome.status is BatchStatus.FAILED else Admission.DUPLICATE
        return Admitted(ended, reason=str(done.outcome.error_code or ""))

    def refuse(
        self,
        body: str,
        message: InboundMessage | NotForUpdater,
        failure: ValidationFailure,
        origin: Origin,
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
            request_rejection(own, message.request, trigger, failure)
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
        """End the content `digest` with `outcome` under `key` (``admission.KeyedEndings.end``)."""
        return self._endings.end(key, digest, body, outcome, caller=caller)

    def _ignored(self, reason: str) -> Admitted:
        self._metrics.count("Ignored", reason=str(reason))
        return Admitted(Admission.IGNORED, reason=str(reason))


class _ChildForwarder:
    """A fan-out's children enter intake like any other request, as their parent's caller's."""

    def __init__(self, intake: Intake, sender: Identified) -> None:
        self._intake = intake
        self._sender = sender

    def forward(self, child: UpdateRequest, *, trigger: str, body: str) -> None:
        self._intake.admit_request(child, trigger=trigger, body=body, sender=self._sender)


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
