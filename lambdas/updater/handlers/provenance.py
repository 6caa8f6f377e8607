"""How a record arrived, read from the transport: which queue, which sender, which rule's stamp.

The stage's EventBridge rules deliver `{"deliveredBy": "<rule ARN>", "event": <the event>}` to the
rules queue (EventBridge fills in the ARN; infra/events.py), and only they may send there; the
caller queues carry SQS's SenderId. What the domain makes of it is `updater.domain.provenance`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from updater.domain.provenance import Origin, RuleRole
from updater.domain.request import loads_strict
from updater.handlers.sqs_batch import SqsRecord

STAMP_KEYS = frozenset({"deliveredBy", "event"})


def origin_of(
    record: SqsRecord, *, rule_queue_arns: frozenset[str], rules: Mapping[str, RuleRole]
) -> tuple[str, Origin]:
    """The body to classify and where it came from."""
    body = record.body
    if record.event_source_arn not in rule_queue_arns:
        return body, Origin.caller_queue(record.sender_id)
    try:
        document: Any = loads_strict(body)
    except (ValueError, RecursionError):
        return body, Origin.rules_queue(None)
    stamped = isinstance(document, dict) and set(document) == STAMP_KEYS
    if not stamped or not isinstance(document["event"], dict):
        return body, Origin.rules_queue(None)
    rule = rules.get(document["deliveredBy"]) if isinstance(document["deliveredBy"], str) else None
    event = json.dumps(document["event"], separators=(",", ":"), ensure_ascii=False)
    return event, Origin.rules_queue(rule)
