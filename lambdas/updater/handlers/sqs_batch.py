"""What the three functions share about SQS batches: reading records defensively and answering
with a partial-batch response that keeps a FIFO group's order.

A record's fields come from whoever sent the message (or invoked the function): each field the
functions use is read with a type check and a bound before anything else sees the record, and the
rest (every message attribute but `contentType`, by which an HL7 v2 sender marks ER7) is dropped,
so one odd record cannot fail its batch-mates, and nothing unread can reach a log or a metric. An
event that carries no answerable record is answered with an empty batch response and counted with
its reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

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


@dataclass(frozen=True)
class SqsRecord:
    """The fields of an SQS record the functions read, each checked ("" or None when the record's
    own was missing or odd)."""

    message_id: str
    receipt_handle: str
    body: str
    event_source_arn: str
    receive_count: int  # at least 1
    sender_id: str  # SQS's SenderId: "" matches no caller
    message_group_id: str | None
    content_type: str | None  # the message attribute `contentType`, UNREADABLE_CONTENT_TYPE if odd


class UnanswerableEvent(StrEnum):
    """Why an invocation had nothing to answer (no record with a message id to report)."""

    NOT_AN_SQS_EVENT = "NOT_AN_SQS_EVENT"  # no Records list
    NO_RECORDS = "NO_RECORDS"
    RECORD_WITHOUT_MESSAGE_ID = "RECORD_WITHOUT_MESSAGE_ID"  # counted per record


def records_of(event: Any) -> list[SqsRecord]:
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


def _read(record: Any) -> SqsRecord | None:
    if not isinstance(record, Mapping):
        return None
    message_id = record.get("messageId")
    if not (isinstance(message_id, str) and _PRINTABLE_ID.fullmatch(message_id)):
        return None
    raw_attributes = record.get("attributes")
    attributes = raw_attributes if isinstance(raw_attributes, Mapping) else {}
    count = attributes.get("ApproximateReceiveCount")
    receives = (
        max(1, int(count))
        if isinstance(count, str)
        and count.isascii()
        and count.isdigit()
        and len(count) <= MAX_RECEIVE_COUNT_DIGITS
        else 1
    )
    sender = attributes.get("SenderId")
    group = attributes.get("MessageGroupId")
    receipt = record.get("receiptHandle")
    arn = record.get("eventSourceARN")
    body = record.get("body")
    return SqsRecord(
        message_id=message_id,
        receipt_handle=receipt if isinstance(receipt, str) and _RECEIPT_HANDLE.fullmatch(receipt) else "",
        body=body if isinstance(body, str) else "",
        event_source_arn=arn if isinstance(arn, str) and _QUEUE_ARN.fullmatch(arn) else "",
        receive_count=receives,
        sender_id=sender if isinstance(sender, str) and _SENDER_ID.fullmatch(sender) else "",
        message_group_id=group if isinstance(group, str) and _PRINTABLE_ID.fullmatch(group) else None,
        content_type=_content_type(record.get("messageAttributes")),
    )


def _content_type(attributes: Any) -> str | None:
    """Only `contentType`, a bounded printable ASCII string (anything else there: "unreadable")."""
    attribute = attributes.get("contentType") if isinstance(attributes, Mapping) else None
    if not isinstance(attribute, Mapping):
        return None
    value = attribute.get("stringValue")
    readable = (
        isinstance(value, str)
        and len(value) <= MAX_CONTENT_TYPE_CHARS
        and value.isascii()
        and value.isprintable()
    )
    return value if readable and isinstance(value, str) else UNREADABLE_CONTENT_TYPE


def source_arn(records: list[SqsRecord]) -> str:
    """An event source mapping's batch comes from one queue ("" when the records do not say which)."""
    return records[0].event_source_arn if records else ""


def partial_response(
    records: list[SqsRecord], record_handler: Callable[[SqsRecord], None]
) -> dict[str, list[dict[str, str]]]:
    """Each record handled on its own; one that raises is reported failed (SQS brings it back) and
    its batch-mates are not harmed. From a FIFO queue, a failed record fails the later records of its
    message group unhandled (their order is kept) and no others. A batch in which every record
    failed is still a partial response: the same records come back either way, and Lambda does not
    count the invocation as an error.

    This is the behaviour of Powertools' `SqsFifoPartialProcessor(skip_group_on_error=True)` and
    `BatchProcessor`, written out because importing that utility loads every Powertools parser model
    and asyncio, about 150 ms of each function's cold start for these few lines."""
    fifo = source_arn(records).endswith(".fifo")
    failed_groups: set[str] = set()
    failures: list[dict[str, str]] = []
    for record in records:
        group = record.message_group_id if fifo else None
        if group is not None and group in failed_groups:
            failures.append({"itemIdentifier": record.message_id})
            continue
        try:
            record_handler(record)
        except Exception:  # whatever it was, the record comes back (handlers log their own)
            failures.append({"itemIdentifier": record.message_id})
            if group is not None:
                failed_groups.add(group)
    return {"batchItemFailures": failures}
