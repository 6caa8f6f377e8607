"""What the three functions share about SQS batches: reading records defensively, the partial-batch
processor for the queue kind, and hiding records that must wait.

A record's fields come from whoever sent the message (or invoked the function): each field the
functions use is read with a type check and a bound before anything else sees the record, and the
rest (every message attribute but `contentType`, by which an HL7 v2 sender marks ER7) is dropped,
so one odd record cannot fail its batch-mates, and nothing unread can reach a log or a metric. An
event that carries no answerable record is answered with an empty batch response and counted with
its reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, SqsFifoPartialProcessor
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from updater.handlers.observability import logger, metrics

MAX_RECEIVE_COUNT_DIGITS = 6
MAX_CONTENT_TYPE_CHARS = 64
UNREADABLE_CONTENT_TYPE = "unreadable"  # refused as an unsupported content type, never repeated
# Message ids and FIFO group ids: printable ASCII, at most 128 characters (SQS's own bounds).
_PRINTABLE_ID = re.compile(r"[\x21-\x7e]{1,128}")
_RECEIPT_HANDLE = re.compile(r"[\x21-\x7e]{1,1024}")  # SQS's are at most 1,024 characters
# SenderId: a principal's unique id, with a role session's name after a colon (AROA...:<session>).
_SENDER_ID = re.compile(r"[A-Za-z0-9:+=,.@_-]{1,256}")
_QUEUE_ARN = re.compile(r"arn:aws[a-z-]{0,16}:sqs:[a-z0-9-]{1,32}:[0-9]{12}:[A-Za-z0-9_-]{1,80}(?:\.fifo)?")


class UnanswerableEvent(StrEnum):
    """Why an invocation had nothing to answer (no record with a message id to report)."""

    NOT_AN_SQS_EVENT = "NOT_AN_SQS_EVENT"  # no Records list
    NO_RECORDS = "NO_RECORDS"
    RECORD_WITHOUT_MESSAGE_ID = "RECORD_WITHOUT_MESSAGE_ID"  # counted per record


def records_of(event: Any) -> list[dict[str, Any]]:
    """The event's SQS records that can be answered, each reduced to the fields the functions read,
    every one checked; [] (counted, with its reason) for anything else."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        _unanswerable(UnanswerableEvent.NOT_AN_SQS_EVENT)
        return []
    if not records:
        _unanswerable(UnanswerableEvent.NO_RECORDS)
        return []
    read = [_read(record) for record in records]
    answerable = [record for record in read if record is not None]
    if len(answerable) < len(read):
        _unanswerable(UnanswerableEvent.RECORD_WITHOUT_MESSAGE_ID, len(read) - len(answerable))
    return answerable


def _unanswerable(reason: UnanswerableEvent, count: int = 1) -> None:
    logger.warning("records that cannot be answered", extra={"reason": reason.value, "count": count})
    metrics.add_metric(name="UnanswerableRecords", unit="Count", value=count)


def _read(record: Any) -> dict[str, Any] | None:
    if not isinstance(record, Mapping):
        return None
    message_id = record.get("messageId")
    if not (isinstance(message_id, str) and _PRINTABLE_ID.fullmatch(message_id)):
        return None
    raw_attributes = record.get("attributes")
    attributes = raw_attributes if isinstance(raw_attributes, Mapping) else {}
    kept: dict[str, str] = {}
    count = attributes.get("ApproximateReceiveCount")
    if (
        isinstance(count, str)
        and count.isascii()
        and count.isdigit()
        and len(count) <= MAX_RECEIVE_COUNT_DIGITS
    ):
        kept["ApproximateReceiveCount"] = count
    sender = attributes.get("SenderId")
    if isinstance(sender, str) and _SENDER_ID.fullmatch(sender):
        kept["SenderId"] = sender
    group = attributes.get("MessageGroupId")
    if isinstance(group, str) and _PRINTABLE_ID.fullmatch(group):
        kept["MessageGroupId"] = group
    receipt = record.get("receiptHandle")
    arn = record.get("eventSourceARN")
    body = record.get("body")
    return {
        "messageId": message_id,
        "receiptHandle": receipt if _is_receipt_handle(receipt) else "",
        "body": body if isinstance(body, str) else "",
        "attributes": kept,
        "messageAttributes": _content_type_attribute(record.get("messageAttributes")),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn if isinstance(arn, str) and _QUEUE_ARN.fullmatch(arn) else "",
    }


def _content_type_attribute(attributes: Any) -> dict[str, Any]:
    """Only `contentType`, a bounded printable ASCII string (anything else there: "unreadable")."""
    attribute = attributes.get("contentType") if isinstance(attributes, Mapping) else None
    if not isinstance(attribute, Mapping):
        return {}
    value = attribute.get("stringValue")
    readable = (
        isinstance(value, str)
        and len(value) <= MAX_CONTENT_TYPE_CHARS
        and value.isascii()
        and value.isprintable()
    )
    kept = value if readable else UNREADABLE_CONTENT_TYPE
    return {"contentType": {"stringValue": kept, "dataType": "String"}}


def _is_receipt_handle(value: Any) -> bool:
    return isinstance(value, str) and bool(_RECEIPT_HANDLE.fullmatch(value))


def source_arn(records: list[dict[str, Any]]) -> str:
    """An event source mapping's batch comes from one queue ("" when the records do not say which)."""
    arn = records[0].get("eventSourceARN") if records else None
    return arn if isinstance(arn, str) else ""


def batch_processor(records: list[dict[str, Any]]) -> BatchProcessor:
    """FIFO queues: a failed record fails the later records of its message group (their order is
    kept) and no others. Whole-batch failures stay a partial response: the same records come back
    either way, and Lambda does not count the invocation as an error."""
    processor: BatchProcessor
    if source_arn(records).endswith(".fifo"):
        processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    else:
        processor = BatchProcessor(event_type=EventType.SQS)
    processor.raise_on_entire_batch_failure = False
    return processor


def receive_count(record: SQSRecord) -> int:
    text = record.raw_event.get("attributes", {}).get("ApproximateReceiveCount")
    return max(1, int(text)) if isinstance(text, str) else 1  # its digits checked when it was read


def sender_of(record: SQSRecord) -> str:
    """SQS's SenderId ("" when the record carries none or an odd one: then no caller matches)."""
    sender = record.raw_event.get("attributes", {}).get("SenderId")
    return sender if isinstance(sender, str) else ""


def body_of(record: SQSRecord) -> str:
    body = record.raw_event.get("body")
    return body if isinstance(body, str) else ""


def content_type_of(record: SQSRecord) -> str | None:
    """The message attribute `contentType` (checked when the record was read), or None."""
    attribute = record.raw_event.get("messageAttributes", {}).get("contentType")
    value = attribute.get("stringValue") if isinstance(attribute, Mapping) else None
    return value if isinstance(value, str) else None
