"""Tells apart what arrives on the ingest queues: a plain request, an EventBridge envelope, or junk.

Both triggers end up on SQS: other services send requests straight to the queue, or put them on the
requests bus whose rule forwards the whole EventBridge envelope; HealthImaging's own events arrive
the same way from the default bus.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from updater.domain.errors import FailureCode, RequestRejected, ValidationFailure
from updater.domain.notices import SETTLED_EVENTS, SettleNotice, parse_settle_notice
from updater.domain.request import UpdateRequest, parse_update_request
from updater.domain.selectors import ParentMessage, is_parent_body, parse_parent_request

REQUEST_DETAIL_TYPE = "ImageSetMetadataUpdate.Requested"
IMPORT_COMPLETED = "Import Job Completed"
IMAGE_SET_CREATED = "Image Set Created"  # per image set: the import rules, whichever comes first
HEALTHIMAGING_SOURCE = "aws.medical-imaging"
MAX_BODY_BYTES = 256 * 1024  # SQS and EventBridge both cap a message at 256 KiB


@dataclass(frozen=True)
class RequestMessage:
    request: UpdateRequest
    trigger: str


@dataclass(frozen=True)
class RejectedMessage:
    failure: ValidationFailure
    trigger: str
    request_id: str | None = None


@dataclass(frozen=True)
class ImportCompletedMessage:
    envelope: dict[str, Any]


@dataclass(frozen=True)
class SettleNoticeMessage:
    notice: SettleNotice


@dataclass(frozen=True)
class IgnoredMessage:
    reason: str


InboundMessage = (
    RequestMessage
    | ParentMessage
    | RejectedMessage
    | ImportCompletedMessage
    | SettleNoticeMessage
    | IgnoredMessage
)


def _is_envelope(document: Any) -> bool:
    return isinstance(document, dict) and "detail-type" in document and "detail" in document


def classify(body: str) -> InboundMessage:
    if len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        return RejectedMessage(
            ValidationFailure(FailureCode.PAYLOAD_TOO_LARGE, "body", "message body over 256 KiB"), "sqs"
        )
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # a few KB of brackets nest past the interpreter's stack
        document = None
    if not _is_envelope(document):
        return _request(body, "sqs", document)
    detail_type, source = document.get("detail-type"), document.get("source")
    if detail_type in (IMPORT_COMPLETED, IMAGE_SET_CREATED) and source == HEALTHIMAGING_SOURCE:
        return ImportCompletedMessage(document)
    if detail_type in SETTLED_EVENTS and source == HEALTHIMAGING_SOURCE:
        notice = parse_settle_notice(document)
        return SettleNoticeMessage(notice) if notice else IgnoredMessage("an unreadable settle event")
    if detail_type == REQUEST_DETAIL_TYPE:
        return _request(document["detail"], "eventbridge", document["detail"])
    return IgnoredMessage(f"event {source}/{detail_type} is not for the updater")


def _request(raw: Any, trigger: str, document: Any) -> RequestMessage | ParentMessage | RejectedMessage:
    try:
        if is_parent_body(document):  # a selector or a merge: fanned out (domain.fan_out)
            return ParentMessage(parse_parent_request(raw), trigger)
        return RequestMessage(parse_update_request(raw), trigger)
    except RequestRejected as rejected:
        request_id = document.get("requestId") if isinstance(document, dict) else None
        usable_id = request_id if isinstance(request_id, str) and 0 < len(request_id) <= 128 else None
        return RejectedMessage(rejected.failures[0], trigger, usable_id)
