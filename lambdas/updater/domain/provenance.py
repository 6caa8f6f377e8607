"""Provenance: what intake may believe about a record, from how it arrived (never from its body).

    caller queue (ingest, ingest.fifo) ── SenderId ─► the caller whose principal sent it
        a body that claims to be an AWS service's event ─────────────► UNTRUSTED_SERVICE_EVENT
    rules queue, stamped by one of the stage's rules (only they may send there)
        requests rule ── the event's source and account ─► the caller that owns the source
            (an update request, a selector or a merge)
        import / settle rule ── HealthImaging's event, of this stage's account and region
        anything else (no stamp, another rule, another account) ─────► UNTRUSTED_SERVICE_EVENT

The handler reads the transport (queue ARN, SenderId, the rule's stamp); this module judges it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from updater.domain.audit import Caller
from updater.domain.callers import CallerDirectory, Identified
from updater.domain.content_types import NotForUpdater
from updater.domain.errors import FailureCode, ValidationFailure
from updater.domain.identifiers import FINGERPRINT_HEX
from updater.domain.inbound import (
    ImportCompletedMessage,
    InboundMessage,
    RejectedMessage,
    RequestMessage,
    SettleNoticeMessage,
)
from updater.domain.request import loads_strict
from updater.domain.selectors import ParentMessage

AWS_SOURCE_PREFIX = "aws."


class Channel(StrEnum):
    CALLER_QUEUE = "caller-queue"  # ingest, ingest.fifo: the configured callers send here
    RULES = "rules"  # the rules queue: only the stage's EventBridge rules deliver here


class RuleRole(StrEnum):
    REQUESTS = "requests"  # the requests bus -> update requests of callers
    IMPORTS = "imports"  # the default bus -> HealthImaging's Import Job Completed
    SETTLES = "settles"  # the default bus -> HealthImaging's Image Set Updated / Update Failed


@dataclass(frozen=True)
class Origin:
    """How a record arrived, as the transport tells it."""

    channel: Channel
    sender_id: str = ""  # caller queues: SQS's SenderId
    rule: RuleRole | None = None  # rules queue: the stamping rule's role (None: not one of ours)

    @classmethod
    def caller_queue(cls, sender_id: str) -> Origin:
        return cls(Channel.CALLER_QUEUE, sender_id=sender_id)

    @classmethod
    def rules_queue(cls, rule: RuleRole | None) -> Origin:
        return cls(Channel.RULES, rule=rule)


def trusted_rules(setting: str) -> dict[str, RuleRole]:
    """TRUSTED_RULES: each rule's ARN -> its role (the stack writes it; unknown roles are dropped)."""
    try:
        document: Any = json.loads(setting) if setting.strip() else {}
    except ValueError:
        return {}
    roles = {role.value: role for role in RuleRole}
    if not isinstance(document, dict):
        return {}
    return {str(arn): roles[role] for arn, role in document.items() if role in roles}


@dataclass(frozen=True)
class EnvelopeFacts:
    source: str
    account: str
    region: str


def envelope_facts(body: str) -> EnvelopeFacts | None:
    """An EventBridge envelope's source, account and region (None: the body is no envelope)."""
    try:
        document: Any = loads_strict(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or "detail-type" not in document:
        return None
    facts = [document.get(key) for key in ("source", "account", "region")]
    return EnvelopeFacts(*(value if isinstance(value, str) else "" for value in facts))


_UNTRUSTED = {
    "queue": "an AWS service event sent to a caller queue is not trusted",
    "stamp": "the record was not delivered by one of the stage rules",
    "kind": "the event is not of the kind its rule delivers",
    "place": "the event names another account or region than the stage",
}


def untrusted(reason: str) -> ValidationFailure:
    return ValidationFailure(FailureCode.UNTRUSTED_SERVICE_EVENT, "event", _UNTRUSTED[reason])


@dataclass(frozen=True)
class StagePlace:
    account: str
    region: str


class Provenance:
    """Judges each classified record by its origin: the caller it came from, or why it is refused."""

    def __init__(self, callers: CallerDirectory, place: StagePlace) -> None:
        self._callers = callers
        self._place = place

    @property
    def callers(self) -> CallerDirectory:
        return self._callers

    def judge(
        self, message: InboundMessage | NotForUpdater, body: str, origin: Origin
    ) -> Identified | ValidationFailure:
        facts = envelope_facts(body)
        if origin.channel is Channel.CALLER_QUEUE:
            if facts is not None and facts.source.startswith(AWS_SOURCE_PREFIX):
                return untrusted("queue")
            return self._callers.from_queue(origin.sender_id)
        if origin.rule is None or facts is None:
            return untrusted("stamp")
        if origin.rule is RuleRole.REQUESTS:
            if not isinstance(message, RequestMessage | ParentMessage | RejectedMessage):
                return untrusted("kind")
            return self._callers.from_bus(facts.source, facts.account)
        expected = ImportCompletedMessage if origin.rule is RuleRole.IMPORTS else SettleNoticeMessage
        # A settle event that lacks its ids is still HealthImaging's: it is rejected as unreadable.
        if not isinstance(message, expected | RejectedMessage):
            return untrusted("kind")
        if (facts.account, facts.region) != (self._place.account, self._place.region):
            return untrusted("place")
        if origin.rule is RuleRole.IMPORTS:
            return self._callers.import_rules(origin.rule.value)
        return Identified(Caller(kind="aws-service", identity=facts.source, name="healthimaging"), None)


def refused_key(key: str, identity: str, digest: str) -> str:
    """The key of a message refused for who sent it: its own, so that a refused sender can never
    hold or replay a requestId that a permitted caller uses (nor learn its outcome)."""
    mark = hashlib.sha256(f"{identity}\n{digest}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"refused:{mark[:FINGERPRINT_HEX]}:{key}"
