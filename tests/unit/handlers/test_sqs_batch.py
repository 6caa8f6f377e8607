"""The partial-batch response the three functions answer with, and how records are read.

`partial_response` stands in for Powertools' `SqsFifoPartialProcessor(skip_group_on_error=True)` and
`BatchProcessor`: the property below is their documented behaviour, checked against batches of any
shape, and the last test compares the two directly on the same batches.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from hypothesis import given
from hypothesis import strategies as st

from updater.handlers.sqs_batch import UNREADABLE_CONTENT_TYPE, SqsRecord, partial_response, records_of

FIFO_ARN = "arn:aws:sqs:us-east-1:123456789012:stage-lane.fifo"
STANDARD_ARN = "arn:aws:sqs:us-east-1:123456789012:stage-ingest"
ER7 = "x-application/hl7-v2+er7"

# A batch: each record's group (one of a few) and whether its handler raises.
batches = st.lists(st.tuples(st.sampled_from(["g1", "g2", "g3"]), st.booleans()), min_size=1, max_size=10)


def _raw(index: int, group: str, arn: str) -> dict[str, Any]:
    return {
        "messageId": f"m-{index}",
        "receiptHandle": f"rh-{index}",
        "body": str(index),
        "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": group},
        "messageAttributes": {},
        "eventSourceARN": arn,
        "eventSource": "aws:sqs",
    }


def _run(batch: list[tuple[str, bool]], arn: str) -> tuple[list[str], list[str]]:
    """(message ids reported failed, message ids whose handler ran)."""
    raising = {f"m-{i}" for i, (_, raises) in enumerate(batch) if raises}
    ran: list[str] = []

    def handler(record: SqsRecord) -> None:
        ran.append(record.message_id)
        if record.message_id in raising:
            raise ValueError("the handler failed")

    records = records_of({"Records": [_raw(i, group, arn) for i, (group, _) in enumerate(batch)]})
    response = partial_response(records, handler)
    return [f["itemIdentifier"] for f in response["batchItemFailures"]], ran


@given(batches)
def test_from_a_fifo_queue_a_failed_record_fails_the_rest_of_its_group_unhandled(
    batch: list[tuple[str, bool]],
) -> None:
    failed, ran = _run(batch, FIFO_ARN)
    expected_failed: list[str] = []
    expected_ran: list[str] = []
    broken: set[str] = set()
    for index, (group, raises) in enumerate(batch):
        message_id = f"m-{index}"
        if group in broken:
            expected_failed.append(message_id)
            continue
        expected_ran.append(message_id)
        if raises:
            expected_failed.append(message_id)
            broken.add(group)
    assert failed == expected_failed
    assert ran == expected_ran


@given(batches)
def test_from_a_standard_queue_only_the_records_that_raised_fail(batch: list[tuple[str, bool]]) -> None:
    failed, ran = _run(batch, STANDARD_ARN)
    assert failed == [f"m-{i}" for i, (_, raises) in enumerate(batch) if raises]
    assert ran == [f"m-{i}" for i in range(len(batch))]


@given(batches, st.booleans())
def test_the_response_is_the_one_powertools_gives(batch: list[tuple[str, bool]], fifo: bool) -> None:
    arn = FIFO_ARN if fifo else STANDARD_ARN
    raising = {f"m-{i}" for i, (_, raises) in enumerate(batch) if raises}

    def handler(record: Any) -> None:
        if record.message_id in raising:
            raise ValueError("the handler failed")

    raw = [_raw(i, group, arn) for i, (group, _) in enumerate(batch)]
    processor = SqsFifoPartialProcessor(skip_group_on_error=True) if fifo else BatchProcessor(EventType.SQS)
    processor.raise_on_entire_batch_failure = False
    theirs = process_partial_response(event={"Records": raw}, record_handler=handler, processor=processor)
    assert partial_response(records_of({"Records": raw}), handler) == dict(theirs)


def test_a_record_is_read_field_by_field_and_odd_fields_are_left_empty() -> None:
    (read,) = records_of(
        {
            "Records": [
                {
                    "messageId": "m-1",
                    "receiptHandle": "rh 1 with spaces",
                    "body": 42,
                    "attributes": {
                        "ApproximateReceiveCount": "١٢",  # digits, but not ASCII
                        "SenderId": "AROAEXAMPLE:session name",
                        "MessageGroupId": "g" * 129,
                    },
                    "messageAttributes": {"contentType": {"stringValue": "x\n", "dataType": "String"}},
                    "eventSourceARN": "arn:aws:sqs:us-east-1:1:short-account",
                }
            ]
        }
    )
    assert read == SqsRecord(
        message_id="m-1",
        receipt_handle="",
        body="",
        event_source_arn="",
        receive_count=1,
        sender_id="",
        message_group_id=None,
        content_type=UNREADABLE_CONTENT_TYPE,
    )


def test_a_well_formed_record_keeps_what_the_functions_read() -> None:
    raw = _raw(7, "g1", FIFO_ARN) | {
        "attributes": {"ApproximateReceiveCount": "3", "SenderId": "AIDAEXAMPLE", "MessageGroupId": "g1"},
        "messageAttributes": {"contentType": {"stringValue": ER7, "dataType": "String"}},
    }
    (read,) = records_of({"Records": [raw]})
    assert read == SqsRecord(
        message_id="m-7",
        receipt_handle="rh-7",
        body="7",
        event_source_arn=FIFO_ARN,
        receive_count=3,
        sender_id="AIDAEXAMPLE",
        message_group_id="g1",
        content_type=ER7,
    )
