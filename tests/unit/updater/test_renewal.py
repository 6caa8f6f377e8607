"""Which SQS records are renewed or ended before any work (see updater.renewal)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from updater.renewal import MAX_RENEWALS, last_delivery, renewals_of, spare_deliveries

ARN = "arn:aws:sqs:us-east-1:123456789012:ingest"


def record(received: int, renewals: int | None = None, arn: str = ARN) -> dict[str, Any]:
    attributes = (
        {} if renewals is None else {"renewals": {"stringValue": str(renewals), "dataType": "Number"}}
    )
    return {
        "eventSourceARN": arn,
        "attributes": {"ApproximateReceiveCount": str(received)},
        "messageAttributes": attributes,
    }


@given(received=st.integers(1, 20), renewals=st.integers(0, 5), max_receive=st.integers(1, 10))
def test_only_the_last_delivery_of_a_standard_queue_is_renewed_or_ended(
    received: int, renewals: int, max_receive: int
) -> None:
    decision = last_delivery(record(received, renewals), max_receive_count=max_receive)
    kept_back = received > max_receive - spare_deliveries(max_receive)
    assert decision.renew == (kept_back and renewals < MAX_RENEWALS)
    assert decision.end == (kept_back and renewals >= MAX_RENEWALS)


def test_the_last_two_deliveries_are_kept_back_when_there_are_enough() -> None:
    assert [last_delivery(record(n), max_receive_count=5).renew for n in range(1, 7)] == [
        False, False, False, True, True, True,
    ]  # fmt: skip
    assert [last_delivery(record(n), max_receive_count=2).renew for n in range(1, 4)] == [False, True, True]


def test_fifo_records_are_ended_not_copied() -> None:
    assert last_delivery(record(4, arn=ARN + ".fifo"), max_receive_count=5).end
    assert not last_delivery(record(4, arn=ARN + ".fifo"), max_receive_count=5).renew
    assert last_delivery(record(3, arn=ARN + ".fifo"), max_receive_count=5) == last_delivery(
        record(3), max_receive_count=5
    )


def test_renewals_default_to_zero_and_ignore_junk() -> None:
    assert renewals_of(record(1)) == 0
    assert renewals_of(record(1, 2)) == 2
    junk = record(1) | {"messageAttributes": {"renewals": {"stringValue": "-3"}}}
    assert renewals_of(junk) == 0
    assert renewals_of({"messageAttributes": None}) == 0
