"""Intake: every message on the ingest queues is classified, validated and either ended at once
with its outcome or forwarded to its image set's lane.

    body ─► classify ─┬─ request ─► validate ─┬─ invalid ─► recorder.finish (FAILED, with its code)
                      │                       └─ valid ───► ledger.open ─► lane.send (group = image set)
                      ├─ rejected (not a request) ──────────► recorder.finish (FAILED)
                      ├─ import completed ─► import reaction ─► its planned requests take the request path
                      ├─ image set updated / update failed ─► its lane's wait ends (domain.notices)
                      └─ ignored (not for the updater) ─────► counted

Nothing here waits: intake is fast and stateless, so its queues drain at the rate requests come;
all waiting happens on the lane, one image set at a time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from updater.domain.batch import BatchStatus
from updater.domain.content_types import MessageTranslator, NotForUpdater, is_hl7, is_json, unsupported
from updater.domain.errors import ValidationFailure
from updater.domain.fan_out import FanOut
from updater.domain.inbound import (
    ImportCompletedMessage,
    InboundMessage,
    RejectedMessage,
    RequestMessage,
    SettleNoticeMessage,
    classify,
)
from updater.domain.lane_message import lane_message
from updater.domain.notices import SettleNotices
from updater.domain.outcome import UpdateOutcome, body_request_id, rejection
from updater.domain.ports import Clock, Lane, Ledger, MetricsSink
from updater.domain.recorder import OutcomeRecorder
from updater.domain.request import UpdateRequest, parse_update_request
from updater.domain.selectors import ParentMessage
from updater.domain.validation import validate_request


class Admission(StrEnum):
    FORWARDED = "forwarded"  # on its lane
    REJECTED = "rejected"  # ended FAILED here, with its reason
    DUPLICATE = "duplicate"  # the request had ended before: its outcome replayed if unannounced
    IMPORT = "import"  # an import reaction ran; its planned requests were admitted
    NOTICE = "notice"  # HealthImaging announced a version settled; its lane was told
    IGNORED = "ignored"  # not for the updater


@dataclass(frozen=True)
class Admitted:
    admission: Admission
    outcome: UpdateOutcome | None = None
    reason: str = ""


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
        imports: ImportReaction | None = None,
        notices: SettleNotices | None = None,
        fan_out: FanOut | None = None,
        hl7: MessageTranslator | None = None,
    ) -> None:
        self._ledger = ledger
        self._lane = lane
        self._recorder = recorder
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

    def admit(self, body: str, content_type: str | None = None) -> Admitted:
        message = self.inbound(body, content_type)
        if isinstance(message, ParentMessage):
            return self.admit_parent(message, body)
        if isinstance(message, NotForUpdater):
            return self._ignored(message.reason)
        if isinstance(message, RequestMessage):
            return self.admit_request(message.request, trigger=message.trigger, body=body)
        if isinstance(message, RejectedMessage):
            return Admitted(Admission.REJECTED, self.reject(body, message))
        if isinstance(message, SettleNoticeMessage):
            if self._notices is None or not self._notices.receive(message.notice):
                return self._ignored("a settle event for no open call of the updater")
            return Admitted(Admission.NOTICE)
        if isinstance(message, ImportCompletedMessage):
            if self._imports is None:
                return self._ignored("import reactions are not configured")
            self._imports.react(message.envelope, _ImportForwarder(self))
            return Admitted(Admission.IMPORT)
        return self._ignored(message.reason)

    def admit_request(self, request: UpdateRequest, *, trigger: str, body: str) -> Admitted:
        failures = validate_request(
            request,
            max_payload_bytes=self._rules.payload_limit_bytes,
            allowed_datastores=self._rules.allowed_datastores,
        )
        if failures:
            return Admitted(Admission.REJECTED, self._fail(body, request.request_id, trigger, failures[0]))
        now_ms = int(self._clock.now() * 1000)
        opened = self._ledger.open(
            request.request_id,
            digest=request.content_digest(),
            datastore_id=request.datastore_id,
            image_set_id=request.image_set_id,
            received_at_ms=now_ms,
        )
        if opened.entry.terminal:
            return Admitted(Admission.DUPLICATE, self._recorder.replay(opened.entry, body))
        message = lane_message(request, trigger=trigger, received_at_ms=opened.entry.received_at_ms)
        self._lane.send(message.group_id, message.dedup_id, message.body())
        self._metrics.count("Forwarded")
        return Admitted(Admission.FORWARDED)

    def admit_parent(self, message: ParentMessage, body: str, *, last_try: bool = False) -> Admitted:
        """A selector or merge: resolved and fanned out to one child per image set (domain.fan_out);
        `last_try` (the finalizer): only what was recorded is sent, nothing is searched."""
        if self._fan_out is None:
            return self._ignored("selector requests are not configured")
        fan_out = self._fan_out.resend if last_try else self._fan_out.admit
        done = fan_out(message.request, trigger=message.trigger, body=body, forward=_ChildForwarder(self))
        if done.outcome is None:
            return Admitted(Admission.DUPLICATE if done.duplicate else Admission.FORWARDED)
        ended = Admission.REJECTED if done.outcome.status is BatchStatus.FAILED else Admission.DUPLICATE
        return Admitted(ended, reason=str(done.outcome.error_code or ""))

    def reject(self, body: str, message: RejectedMessage) -> UpdateOutcome:
        """A message that is not a well-formed request: one terminal failure, keyed by its content
        when it carries no usable requestId."""
        key = message.request_id or body_request_id(body)
        return self._fail(body, key, message.trigger, message.failure)

    def _fail(self, body: str, request_id: str, trigger: str, failure: ValidationFailure) -> UpdateOutcome:
        return self._recorder.finish(rejection(request_id, trigger, failure), body)

    def _ignored(self, reason: str) -> Admitted:
        self._metrics.count("Ignored")
        return Admitted(Admission.IGNORED, reason=reason)


class _ChildForwarder:
    """A fan-out's children enter intake like any other request (their parent's trigger)."""

    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    def forward(self, child: UpdateRequest, *, trigger: str, body: str) -> None:
        self._intake.admit_request(child, trigger=trigger, body=body)


class _ImportForwarder:
    """An import's planned requests enter intake like any other request (trigger `import`)."""

    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    def send(self, requests: Sequence[Mapping[str, Any]]) -> int:
        for planned in requests:
            request = parse_update_request(planned)
            body = json.dumps(request.wire_dict(), separators=(",", ":"), ensure_ascii=False)
            self._intake.admit_request(request, trigger="import", body=body)
        return len(requests)
