"""UpdatePacer: one account-wide schedule for UpdateImageSetMetadata, shared by every invocation.

HealthImaging allows a fixed number of update calls per second per account (10/s, burst 40 in the
newest developer guide; 0.25/s, burst 1 in older ones). Concurrent Lambdas that each call as fast as
they can only collect ThrottlingExceptions, so every call first reserves a slot here. The schedule
is a single "theoretical arrival time" (GCRA): one DynamoDB item, advanced with a conditional write,
so racing invocations never take the same slot. The write is tried first on the arrival time this
process last saw; when another invocation moved it meanwhile, the failed condition returns the
current value and the next try uses it, so a reservation costs one call when nobody races.

Tokens are spaced slightly wider than the quota (`margin_s`, 0.2 s by default, about 5 % of the real
4-second interval): the service measures when a call arrives, not when we took the token, and the
delay between the two (network, a busy host) is absolute, not a share of the interval.

A margin is only a guess, so with burst 1 there is a second, exact guard: each update call records
when its answer came back (`ended`), and no call is sent within one quota interval after that. The
answered call reached the service before its answer came back, however long it was in transit.
With a burst above 1 the bucket itself absorbs transit jitter, and neither the record nor its read
is made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from updater.adapters.ledger import ConditionFailed, dynamodb_errors
from updater.domain.errors import RetryableServiceError

PACER_KEY = {"pk": {"S": "pacer#UpdateImageSetMetadata"}}
_MAX_RACES = 8


class UpdatePacer:
    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        rate_per_second: float,
        burst: int,
        now: Callable[[], float],
        margin_s: float = 0.2,
    ) -> None:
        self._client = client
        self._table = table_name
        self._interval = 1.0 / rate_per_second + margin_s
        self._quota_interval = 1.0 / rate_per_second if burst == 1 else 0.0
        self._tolerance = (burst - 1) * self._interval  # how far ahead of schedule a burst may run
        self._now = now
        self._seen_tat: float | None = None  # the arrival time this process last read or wrote

    def reserve(self) -> float:
        """Reserve the next free slot for one call and return when it is (epoch seconds).

        Every caller gets its own slot, so lanes that must wait come back each at its own turn
        instead of all together to find the one token taken again.
        """
        stored = self._seen_tat
        for _ in range(_MAX_RACES):
            now = self._now()
            tat = max(stored or 0.0, now)
            won, current = self._advance(stored, tat + self._interval)
            if won:
                self._seen_tat = tat + self._interval
                return max(now, tat - self._tolerance)
            stored = current
        raise RetryableServiceError("PacerContention", "no pacing slot after repeated races")

    def earliest_call(self) -> float:
        """When the next call may be sent: one quota interval after the last answered call."""
        if not self._quota_interval:
            return 0.0
        item = self._read_item()
        return float(item["ended"]["N"]) + self._quota_interval if item and "ended" in item else 0.0

    def call_ended(self, at: float) -> None:
        """Note that an update call's answer (or error) came back at `at` (kept if the latest)."""
        if not self._quota_interval:
            return
        try:
            with dynamodb_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=PACER_KEY,
                    UpdateExpression="SET ended = :at",
                    ConditionExpression="attribute_not_exists(ended) OR ended < :at",
                    ExpressionAttributeValues={":at": {"N": repr(at)}},
                )
        except ConditionFailed:
            pass  # a later answer is recorded already

    def _read_item(self) -> dict[str, Any] | None:
        with dynamodb_errors():
            item: dict[str, Any] | None = self._client.get_item(
                TableName=self._table, Key=PACER_KEY, ConsistentRead=True
            ).get("Item")
        return item

    def _advance(self, expected: float | None, new_tat: float) -> tuple[bool, float | None]:
        """(won, the stored arrival time when another invocation moved it first)."""
        condition = "attribute_not_exists(tat)" if expected is None else "tat = :expected"
        values: dict[str, Any] = {":new": {"N": repr(new_tat)}}
        if expected is not None:
            values[":expected"] = {"N": repr(expected)}
        try:
            with dynamodb_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=PACER_KEY,
                    UpdateExpression="SET tat = :new",
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ConditionFailed as lost:
            item = lost.item or {}
            return False, float(item["tat"]["N"]) if "tat" in item else None
        return True, None
