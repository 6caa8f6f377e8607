"""UpdatePacer: one account-wide schedule for UpdateImageSetMetadata, shared by every invocation.

HealthImaging allows a fixed number of update calls per second per account (10/s, burst 40 in the
newest developer guide; 0.25/s, burst 1 in older ones). Concurrent Lambdas that each call as fast as
they can only collect ThrottlingExceptions, so every call first reserves a slot here. The schedule
is a single "theoretical arrival time" (GCRA): one DynamoDB item, so racing invocations never take
the same slot. While the schedule runs ahead of the clock (work is queued), a reservation is one
atomic `SET tat = tat + interval` on condition `tat >= now`: it needs no knowledge of the stored
value, so invocations racing for slots each get the next one without retrying. A schedule that has
fallen behind the clock (the account was idle) restarts at now, on condition it is still behind;
either condition failing returns the stored value, which says which of the two to try next. An
invocation that has reserved before tries the increment first, whatever it last saw: the value it
saw is stale (others move it), and with 16 invocations the schedule was ahead of the clock at 71 %
of reservations (bench, spread workload, writes counted at moto). The earlier compare-and-swap on
the value this process last saw cost 4.2 writes per reservation there; guessing the path from the
stale value, 2.2; increment first, 1.65 (213 writes for 129 reservations: a schedule left behind
the clock still costs a failed increment, and racing restarts a failed restart).

With burst 1 (the old 0.25/s quota) tokens are spaced wider than the quota by `margin_s` (0.2 s by
default, 5 % of the 4-second interval): the service measures when a call arrives, not when we took
the token, and the delay between the two (network, a busy host) is absolute, not a share of the
interval. A margin is only a guess, so there is a second, exact guard: each update call records
when its answer came back (`ended`), and no call is sent within one quota interval after that. The
answered call reached the service before its answer came back, however long it was in transit.

With a burst above 1 (10/s, burst 40 today) the service's bucket absorbs transit jitter, so an
absolute margin would only waste the quota (0.2 s on a 0.1 s interval caps calls at a third of it):
the spacing keeps at most `JITTER_SHARE` of the interval, and a tenth of the burst is never taken
ahead of schedule, left in the service's bucket for calls that arrive closer together than they
were sent. Neither the `ended` record nor its read is made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from updater.adapters.ledger_items import ConditionFailed, dynamodb_errors
from updater.domain.errors import RetryableServiceError

PACER_KEY = {"pk": {"S": "pacer#UpdateImageSetMetadata"}}
_MAX_RACES = 8
JITTER_SHARE = 0.05  # burst > 1: the spacing's slack, as a share of the quota interval (at most margin_s)
BURST_HEADROOM = 10  # burst > 1: one token in this many is left in the service's bucket


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
        quota_interval = 1.0 / rate_per_second
        if burst == 1:
            self._interval = quota_interval + margin_s
            self._quota_interval = quota_interval
            ahead = 0
        else:
            self._interval = quota_interval + min(margin_s, JITTER_SHARE * quota_interval)
            self._quota_interval = 0.0
            ahead = burst - 1 - burst // BURST_HEADROOM
        self._tolerance = ahead * self._interval  # how far ahead of schedule a burst may run
        self._now = now
        self._seen_tat: float | None = None  # the arrival time this process last read or wrote

    def reserve(self) -> float:
        """Reserve the next free slot for one call and return when it is (epoch seconds).

        Every caller gets its own slot, so lanes that must wait come back each at its own turn
        instead of all together to find the one token taken again.
        """
        stored = self._seen_tat
        for attempt in range(_MAX_RACES):
            now = self._now()
            if stored is not None and (attempt == 0 or stored >= now):
                won, stored = self._extend(now)
                if won and stored is not None:  # the slot is the arrival time before this one
                    self._seen_tat = stored
                    return max(now, stored - self._interval - self._tolerance)
            else:
                won, stored = self._restart(now)
                if won:
                    self._seen_tat = now + self._interval
                    return now
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

    def _extend(self, now: float) -> tuple[bool, float | None]:
        """Take the slot after the stored arrival time, if it is not behind `now`: (won, the
        arrival time after this slot when won; else the stored one, None if there is none)."""
        return self._update(
            "SET tat = tat + :interval",
            "tat >= :now",
            {":interval": self._interval, ":now": now},
            "UPDATED_NEW",
        )

    def _restart(self, now: float) -> tuple[bool, float | None]:
        """Start the schedule again at `now`, if it is behind `now` (or was never started)."""
        return self._update(
            "SET tat = :new",
            "attribute_not_exists(tat) OR tat < :now",
            {":new": now + self._interval, ":now": now},
            "NONE",
        )

    def _update(
        self, expression: str, condition: str, numbers: dict[str, float], returns: str
    ) -> tuple[bool, float | None]:
        try:
            with dynamodb_errors():
                answer = self._client.update_item(
                    TableName=self._table,
                    Key=PACER_KEY,
                    UpdateExpression=expression,
                    ConditionExpression=condition,
                    ExpressionAttributeValues={name: {"N": repr(value)} for name, value in numbers.items()},
                    ReturnValues=returns,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ConditionFailed as lost:
            return False, _tat(lost.item)
        return True, _tat(answer.get("Attributes"))


def _tat(item: dict[str, Any] | None) -> float | None:
    return float(item["tat"]["N"]) if item and "tat" in item else None
