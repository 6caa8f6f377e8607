"""A message's last SQS delivery is renewed, not risked, so that no dead letter goes unexplained.

SQS moves a message to the dead-letter queue by itself once it has been received maxReceiveCount
times, with no reason attached. The handler ends a request whose deliveries all failed transiently
(RETRIES_EXHAUSTED), but an invocation that times out or crashes can say nothing: its batch comes
back, and after maxReceiveCount of those the message would be in the DLQ unexplained. So a message
on its last delivery is not worked on: a fresh copy (receive count 1, `renewals` + 1) is sent and
the original deleted at once, before anything that could overrun. Once a request has been renewed
MAX_RENEWALS times it is ended with RETRIES_EXHAUSTED instead (other messages get their usual last
delivery), so the attempts stay bounded. The last two deliveries are kept back (see
`spare_deliveries`): work happens on deliveries 1 .. maxReceiveCount - 2.

FIFO queues get no copies (a copy would go to the back of its message group, out of order): a
request there ends RETRIES_EXHAUSTED on its kept-back deliveries instead. A record ended there
is deleted at once (`updater.kept_back`), not by a batch response that an overrun would lose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RENEWALS_ATTRIBUTE = "renewals"
MAX_RENEWALS = 2


def renewals_of(record: dict[str, Any]) -> int:
    """How often the request in this SQS record has been renewed (0 for a first copy)."""
    attribute = (record.get("messageAttributes") or {}).get(RENEWALS_ATTRIBUTE) or {}
    value = attribute.get("stringValue")
    return int(value) if isinstance(value, str) and value.isdigit() else 0


@dataclass(frozen=True)
class LastDelivery:
    """What to do with a record before any work: renew it, end it, or work on it as usual."""

    renew: bool = False
    end: bool = False


def spare_deliveries(max_receive_count: int) -> int:
    """Deliveries kept back from work: one more than the last, so a renewal that fails (SQS or the
    ledger unreachable for a moment) is tried again before SQS's redrive can act."""
    return 2 if max_receive_count >= 3 else 1


def last_delivery(record: dict[str, Any], *, max_receive_count: int) -> LastDelivery:
    received = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
    if received <= max_receive_count - spare_deliveries(max_receive_count):
        return LastDelivery()
    if str(record.get("eventSourceARN", "")).endswith(".fifo"):
        # A copy would jump its message group's order: the request ends here instead.
        return LastDelivery(end=True)
    if renewals_of(record) >= MAX_RENEWALS:
        return LastDelivery(end=True)
    return LastDelivery(renew=True)
