"""What the three functions share about SQS batches: reading records defensively, the partial-batch
processor for the queue kind, and hiding records that must wait.

A record's fields come from whoever sent the message: every one is read with a type check and a
bound, inside the per-record guard, so one odd record cannot fail its batch-mates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, SqsFifoPartialProcessor
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

MAX_RECEIVE_COUNT_DIGITS = 6
MAX_CONTENT_TYPE_CHARS = 64


def records_of(event: Any) -> list[dict[str, Any]]:
    """The event's SQS records that can be answered (they carry a message id); [] for anything else."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        return []
    return [r for r in records if isinstance(r, dict) and isinstance(r.get("messageId"), str)]


def source_arn(records: list[dict[str, Any]]) -> str:
    """An event source mapping's batch comes from one queue."""
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
    text = record.attributes.approximate_receive_count
    if isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= MAX_RECEIVE_COUNT_DIGITS:
        return max(1, int(text))
    return 1


def body_of(record: SQSRecord) -> str:
    body = record.raw_event.get("body")
    return body if isinstance(body, str) else ""


def content_type_of(record: SQSRecord) -> str | None:
    """The message attribute `contentType` (how an HL7 v2 sender marks ER7), or None without one.
    Bounded and printable ASCII only; whatever it says, the domain decides what to do with it."""
    attributes = record.raw_event.get("messageAttributes")
    attribute = attributes.get("contentType") if isinstance(attributes, Mapping) else None
    value = attribute.get("stringValue") if isinstance(attribute, Mapping) else None
    if not isinstance(value, str):
        return None
    if len(value) > MAX_CONTENT_TYPE_CHARS or not value.isascii() or not value.isprintable():
        return "unreadable"  # refused as an unsupported content type, never repeated
    return value
