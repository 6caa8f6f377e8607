"""When to look again at a version that has not settled yet.

HealthImaging documents no settle time and offers no waiter, so the schedule learns: a warm
function keeps the settle durations it saw. Before it has enough of them, polls come at growing
steps from a short first delay. Once it has, the first poll comes at a settle time most updates
take at least (the 20th percentile), and each later step is a fixed share (`learned_growth`) of the
time since the update call, so a version is noticed at most that share late, however long it takes.

The estimator learns when versions settled, not when they were noticed: the middle of the interval
between the last poll that saw the version locked and the one that saw it settled. (Learning the
notice time ratchets upwards: each first poll, placed at the learned time, becomes the next sample.)
"""

from __future__ import annotations

import random
import statistics
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SettlePolicy:
    first_delay_s: float = 0.15  # before anything has been observed
    min_step_s: float = 0.02
    multiplier: float = 1.6  # before enough samples: growth of each step over the previous one
    learned_growth: float = 0.10  # with samples: each step is this share of the time since the call
    max_delay_s: float = 30.0
    jitter: float = 0.15  # ± share of each delay, so lanes polling at once spread out
    timeout_s: float = 900.0  # a version still locked this long after its call ends SETTLE_TIMEOUT


@dataclass
class SettleEstimator:
    """Recent settle durations seen by this process (a warm Lambda keeps them between invocations)."""

    samples: deque[float] = field(default_factory=lambda: deque(maxlen=64))

    def observe(self, seconds: float) -> None:
        self.samples.append(max(0.0, seconds))

    def typical(self) -> float | None:
        return statistics.median(self.samples) if len(self.samples) >= 3 else None

    def early(self) -> float | None:
        """A settle time most updates take at least (the 20th percentile), or None before enough samples."""
        if len(self.samples) < 3:
            return None
        ordered = sorted(self.samples)
        return ordered[len(ordered) // 5]


class SettleSchedule:
    def __init__(
        self,
        estimator: SettleEstimator | None = None,
        policy: SettlePolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.estimator = estimator or SettleEstimator()
        self.policy = policy or SettlePolicy()
        self._rng = rng or random.Random()

    def next_delay(self, since_call_s: float, polls: int) -> float:
        """Seconds to wait before the next poll of a version whose call was `since_call_s` ago,
        after `polls` polls of it."""
        return self._jittered(self._delay(since_call_s, polls))

    def _delay(self, since_call_s: float, polls: int) -> float:
        policy = self.policy
        early = self.estimator.early()
        if early is None:
            step = policy.first_delay_s * policy.multiplier**polls
        elif polls == 0:
            step = early - since_call_s
        else:
            step = since_call_s * policy.learned_growth
        return min(policy.max_delay_s, max(policy.min_step_s, step))

    def _jittered(self, delay: float) -> float:
        jitter = self.policy.jitter
        return delay * (1 + self._rng.uniform(-jitter, jitter))

    def notice_fallback(self, since_call_s: float, polls: int) -> float:
        """The wait before polling when a settle notice is expected: twice the typical settle (2 s
        before any is known) after the call, and no shorter than the next poll would be."""
        typical = self.estimator.typical() or 1.0
        return min(
            self.policy.max_delay_s, max(self.next_delay(since_call_s, polls), 2 * typical - since_call_s)
        )

    def notice_window_left(self, since_call_s: float) -> float:
        """How much longer a settle notice is expected before polling: twice the typical settle
        (2 s before any is known) after the call."""
        return max(0.0, 2 * (self.estimator.typical() or 1.0) - since_call_s)

    def settled(self, *, called_s: float, last_unsettled_s: float | None, now_s: float) -> None:
        """Learn from a version seen settled at `now_s`; `last_unsettled_s`: when it was last seen
        locked (None: not seen locked since the call, so only an upper bound is known)."""
        since = called_s if last_unsettled_s is None else last_unsettled_s
        self.estimator.observe((since + now_s) / 2 - called_s)

    def overdue(self, since_call_s: float) -> bool:
        return since_call_s > self.policy.timeout_s


def worst_case_polls(policy: SettlePolicy, inline_s: float) -> int:
    """Lane deliveries a call's settle wait can take at most: one per poll after the inline ones,
    each wait rounded up to whole seconds, until `timeout_s`; the larger of the schedule before it
    has learned anything and after it learned that versions settle almost at once (jitter aside)."""
    still = SettlePolicy(**{**policy.__dict__, "jitter": 0.0})
    quick = SettleEstimator()
    for _ in range(5):
        quick.observe(policy.min_step_s)
    return max(
        _deliveries(SettleSchedule(None, still), still, inline_s),
        _deliveries(SettleSchedule(quick, still), still, inline_s),
    )


def _deliveries(schedule: SettleSchedule, policy: SettlePolicy, inline_s: float) -> int:
    since, polls, deliveries = 0.0, 0, 0
    while since < policy.timeout_s:
        step = schedule.next_delay(since, polls)
        polls += 1
        if since + step > inline_s:
            step = float(max(1, -(-step // 1)))
            deliveries += 1
        since += step
    return deliveries
