"""Tells apart what arrives on the ingest queues: a plain request, an EventBridge envelope, or junk.

Both triggers end up on SQS: other services send requests straight to the queue, or put them on the
requests bus whose rule forwards the whole EventBridge envelope; HealthImaging's own events arrive
the same way from the default bus.

Bodies are read as strict JSON (a repeated key is DUPLICATE_KEY, NaN/Infinity INVALID_JSON). An
envelope of a kind the updater does not take is rejected (UNKNOWN_ENVELOPE), as is a settle event
without its ids (SETTLE_EVENT_INVALID): never dropped, and their source and detail-type, the
sender's text, are repeated nowhere.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from updater.domain.errors import FailureCode, RequestRejected, ValidationFailure
from updater.domain.identifiers import reported_request_id, reported_resource_id
from updater.domain.notices import SETTLED_EVENTS, SettleNotice, parse_settle_notice
from updater.domain.request import UpdateRequest, loads_strict, parse_update_request
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
    """A message that is not a well-formed request, or an event the updater does not take.

    Ids are as reported (``updater.domain.identifiers``): a requestId it carried, valid or by
    fingerprint, binds to `digest` (its content) like a request's does.
    """

    failure: ValidationFailure
    trigger: str
    request_id: str | None = None
    digest: str = ""
    datastore_id: str = ""
    image_set_id: str = ""


@dataclass(frozen=True)
class ImportCompletedMessage:
    envelope: dict[str, Any]


@dataclass(frozen=True)
class SettleNoticeMessage:
    notice: SettleNotice


InboundMessage = (
    RequestMessage | ParentMessage | RejectedMessage | ImportCompletedMessage | SettleNoticeMessage
)


def _is_envelope(document: Any) -> bool:
    return isinstance(document, dict) and "detail-type" in document and "detail" in document


def _parsed(body: str) -> Any:
    try:
        return loads_strict(body)
    except (ValueError, RecursionError):  # a few KB of brackets nest past the interpreter's stack
        return None  # parsed again as a request, which names the reason


def content_digest(document: Any, raw: Any) -> str:
    """SHA-256 of a message's content: canonical JSON when it parsed (so the same content from
    SQS and from EventBridge agrees), else its text."""
    if document is None and isinstance(raw, str):
        text = raw
    else:
        try:
            text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        except (ValueError, TypeError, RecursionError):
            text = raw if isinstance(raw, str) else type(raw).__name__
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def classify(body: str) -> InboundMessage:
    if len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        failure = ValidationFailure(FailureCode.PAYLOAD_TOO_LARGE, "body", "message body over 256 KiB")
        return RejectedMessage(failure, "sqs", digest=content_digest(None, body))
    document = _parsed(body)
    if not _is_envelope(document):
        return _request(body, "sqs", document)
    detail_type, source = document.get("detail-type"), document.get("source")
    if detail_type in (IMPORT_COMPLETED, IMAGE_SET_CREATED) and source == HEALTHIMAGING_SOURCE:
        return ImportCompletedMessage(document)
    if detail_type in SETTLED_EVENTS and source == HEALTHIMAGING_SOURCE:
        notice = parse_settle_notice(document)
        if notice is None:
            return _event_rejected(FailureCode.SETTLE_EVENT_INVALID, "a settle event lacks its ids", document)
        return SettleNoticeMessage(notice)
    if detail_type == REQUEST_DETAIL_TYPE:
        return _request(document["detail"], "eventbridge", document["detail"])
    # Neither its source nor its detail-type is repeated: both are the sender's text.
    return _event_rejected(
        FailureCode.UNKNOWN_ENVELOPE, "an event of a kind the updater does not take", document
    )


def _event_rejected(code: FailureCode, message: str, envelope: dict[str, Any]) -> RejectedMessage:
    return RejectedMessage(
        ValidationFailure(code, "event", message), "eventbridge", digest=content_digest(envelope, None)
    )


def _request(raw: Any, trigger: str, document: Any) -> RequestMessage | ParentMessage | RejectedMessage:
    try:
        if is_parent_body(document):  # a selector or a merge: fanned out (domain.fan_out)
            return ParentMessage(parse_parent_request(raw), trigger)
        return RequestMessage(parse_update_request(raw), trigger)
    except RequestRejected as rejected:
        fields = document if isinstance(document, dict) else {}
        request_id = fields.get("requestId")
        # Only a string can be a requestId; anything else is keyed by the content, like junk.
        given = request_id if isinstance(request_id, str) and request_id else None
        return RejectedMessage(
            rejected.failures[0],
            trigger,
            request_id=None if given is None else reported_request_id(given),
            digest=content_digest(document, raw),
            datastore_id=reported_resource_id(fields.get("datastoreId")),
            image_set_id=reported_resource_id(fields.get("imageSetId")),
        )
