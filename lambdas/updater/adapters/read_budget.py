"""ReadBudget: this execution environment's share of the account's HealthImaging read quotas.

GetImageSet (25/s), GetImageSetMetadata (50/s) and SearchImageSets (25/s) are account-wide quotas
that every reader shares: viewers, indexers, other services. The updater keeps to a configured
share of each (READ_QUOTA_SHARE, half by default), split evenly over the function's concurrent
environments, so however many run, their sum stays inside the share. A per-environment bucket
costs no round trip (a shared one in DynamoDB would cost one per read); the price is that an idle
environment's part is not lent to a busy one.

A read that would wait longer than `max_wait_s` for its turn raises ThrottledError, which the lane
treats like the service's own throttle: a wait, never a failure. It says when the turn comes
(`retry_after_s`), so the lane waits that long rather than a backoff that doubles with each throttle
in a row: an environment that took a batch of several lanes met its budget on each of them in turn
and waited 2, then 4 s (the spread workload's last requests, 7 s of its 26 s window).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from updater.domain.errors import ThrottledError


class ReadBudget:
    def __init__(
        self,
        rates_per_second: Mapping[str, float],
        *,
        burst_s: float = 1.0,
        max_wait_s: float = 1.0,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`rates_per_second`: this environment's rate per operation; `burst_s`: how many seconds of
        its rate may go at once after a quiet spell."""
        self._intervals = {op: 1.0 / rate for op, rate in rates_per_second.items() if rate > 0}
        self._burst_s = burst_s
        self._max_wait_s = max_wait_s
        self._now = now
        self._sleep = sleep
        self._tat: dict[str, float] = {}

    def take(self, operation: str) -> None:
        """Wait for one read of `operation` (GCRA), or raise ThrottledError when the wait is long."""
        interval = self._intervals.get(operation)
        if interval is None:
            return
        now = self._now()
        tat = max(self._tat.get(operation, now), now)
        wait = tat - self._burst_s - now
        if wait > self._max_wait_s:
            raise ThrottledError(
                "ReadBudget",
                f"{operation} over this environment's share of the quota",
                retry_after_s=wait - self._max_wait_s,  # then the rest is waited inline
            )
        self._tat[operation] = tat + interval
        if wait > 0:
            self._sleep(wait)


def read_rates(quotas: Mapping[str, float], share: float, concurrency: int) -> dict[str, float]:
    """Each environment's rate: the updater's share of each account quota, over its concurrency."""
    return {operation: quota * share / max(1, concurrency) for operation, quota in quotas.items()}
