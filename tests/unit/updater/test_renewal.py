"""Which SQS records are renewed or ended before any work (see updater.renewal)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from updater.renewal import MAX_RENEWALS, last_delivery, renewals_of

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
    last = received >= max_receive
    assert decision.renew == (last and renewals < MAX_RENEWALS)
    assert decision.end == (last and renewals >= MAX_RENEWALS)


def test_fifo_records_are_left_to_the_redrive_policy() -> None:
    decision = last_delivery(record(9, 9, arn=ARN + ".fifo"), max_receive_count=5)
    assert not decision.renew and not decision.end


def test_renewals_default_to_zero_and_ignore_junk() -> None:
    assert renewals_of(record(1)) == 0
    assert renewals_of(record(1, 2)) == 2
    junk = record(1) | {"messageAttributes": {"renewals": {"stringValue": "-3"}}}
    assert renewals_of(junk) == 0
    assert renewals_of({"messageAttributes": None}) == 0
