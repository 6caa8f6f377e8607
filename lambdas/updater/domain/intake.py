"""Intake: every message on the ingest queues is classified, validated and either ended at once
with its outcome or forwarded to its image set's lane.

    body ─► classify ─┬─ request ─► validate ─┬─ invalid ─► recorder.finish (FAILED, with its code)
                      │                       └─ valid ───► ledger.open ─► lane.send (group = image set)
                      ├─ rejected (not a request) ──────────► recorder.finish (FAILED)
                      ├─ import completed ─► import reaction ─► its planned requests take the request path
                      └─ ignored (not for the updater) ─────► counted

Nothing here waits: intake is fast and stateless, so its queues drain at the rate requests come;
all waiting happens on the lane, one image set at a time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from updater.domain.errors import ValidationFailure
from updater.domain.inbound import (
    ImportCompletedMessage,
    RejectedMessage,
    RequestMessage,
    classify,
)
from updater.domain.lane_message import lane_message
from updater.domain.outcome import OutcomeStatus, UpdateOutcome
from updater.domain.ports import Clock, Lane, Ledger, MetricsSink
from updater.domain.recorder import OutcomeRecorder
from updater.domain.request import UpdateRequest, parse_update_request
from updater.domain.validation import validate_request


class Admission(StrEnum):
    FORWARDED = "forwarded"  # on its lane
    REJECTED = "rejected"  # ended FAILED here, with its reason
    DUPLICATE = "duplicate"  # the request had ended before: its outcome replayed if unannounced
    IMPORT = "import"  # an import reaction ran; its planned requests were admitted
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
    ) -> None:
        self._ledger = ledger
        self._lane = lane
        self._recorder = recorder
        self._metrics = metrics
        self._clock = clock
        self._rules = rules
        self._imports = imports

    def admit(self, body: str) -> Admitted:
        message = classify(body)
        if isinstance(message, RequestMessage):
            return self.admit_request(message.request, trigger=message.trigger, body=body)
        if isinstance(message, RejectedMessage):
            return Admitted(Admission.REJECTED, self.reject(body, message))
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


def rejection(request_id: str, trigger: str, failure: ValidationFailure) -> UpdateOutcome:
    """The outcome of a message refused before it reached a lane."""
    return UpdateOutcome(
        request_id=request_id,
        datastore_id="",
        image_set_id="",
        status=OutcomeStatus.FAILED,
        trigger=trigger,
        error_code=failure.code,
        error_message=failure.message,
    )


def body_request_id(body: str) -> str:
    """Ledger key for a message too broken to carry or derive a requestId: its content hash."""
    return "body-" + hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:32]
