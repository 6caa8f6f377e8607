"""SettlePoller: wait for a new image set version to leave LOCKED/UPDATING, within a time budget.

HealthImaging has no waiter and does not document its settle time. Polling every second (what the
public examples do) notices a settle up to a second late and spends GetImageSet calls while nothing
can have happened yet. The poller learns the settle times it sees in this warm process: it sleeps
until shortly before the typical settle, then polls with jittered steps that grow with the time
already waited, and hands the request back instead of overrunning the Lambda's remaining time.

Once settle times are known, each step is a fixed share (`learned_growth`) of the time since the
update call: a version that settles after the first poll is noticed at most that share (plus
jitter) of its settle time late, however long it takes. Steps sized from the typical settle, as
before, noticed late settles up to a whole `max_delay_s` late (bench/RESULTS.md: median lag 13-30 %
of the settle time with log-normal settles); the cost is about one more poll per update.

The estimator learns when versions settled, not when we noticed: the middle of the interval between
the last poll that saw the version locked and the one that saw it settled. Learning the notice time
ratchets upwards (each first poll, placed at the learned time, becomes the next sample), which the
benchmark showed drifting to one poll about a whole settle time late.
"""

from __future__ import annotations

import random
import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from updater.domain.image_set import ImageSetVersion


@dataclass(frozen=True)
class SettlePolicy:
    first_delay_s: float = 0.15  # before anything has been observed
    min_step_s: float = 0.02
    multiplier: float = 1.6  # before enough samples: growth of each step over the previous one
    learned_growth: float = 0.10  # with samples: each step is this share of the time since the update
    max_delay_s: float = 5.0
    jitter: float = 0.15  # ± share of each delay, so concurrent pollers spread out


@dataclass
class SettleEstimator:
    """Recent settle durations seen by this process (a warm Lambda keeps them between invocations)."""

    samples: deque[float] = field(default_factory=lambda: deque(maxlen=64))

    def observe(self, seconds: float) -> None:
        self.samples.append(seconds)

    def typical(self) -> float | None:
        return statistics.median(self.samples) if len(self.samples) >= 3 else None

    def early(self) -> float | None:
        """A settle time most updates take at least (the 20th percentile), or None before enough samples."""
        if len(self.samples) < 3:
            return None
        ordered = sorted(self.samples)
        return ordered[len(ordered) // 5]


@dataclass(frozen=True)
class SettleResult:
    version: ImageSetVersion | None  # None: the budget ran out before the version settled
    polls: int


class SettlePoller:
    def __init__(
        self,
        read_version: Callable[[], ImageSetVersion],
        *,
        now_s: Callable[[], float],
        sleep: Callable[[float], None],
        estimator: SettleEstimator,
        policy: SettlePolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._read = read_version
        self._now = now_s
        self._sleep = sleep
        self._estimator = estimator
        self._policy = policy or SettlePolicy()
        self._rng = rng or random.Random()

    def delays(self, elapsed_s: float) -> list[float]:
        """The waits before each poll, given the time already spent since the update call."""
        policy = self._policy
        early, typical = self._estimator.early(), self._estimator.typical()
        if early is None or typical is None:  # both need the same number of samples
            return self._growing_steps(policy.first_delay_s, policy.min_step_s)
        first = max(policy.min_step_s, early - elapsed_s)
        waits, since_update = [first], elapsed_s + first
        while since_update < 900:  # far beyond any Lambda budget; the deadline stops the loop first
            step = min(policy.max_delay_s, max(policy.min_step_s, since_update * policy.learned_growth))
            waits.append(step)
            since_update += step
        return waits

    def _growing_steps(self, first: float, step: float) -> list[float]:
        """Nothing learned yet: short steps that grow geometrically from the first poll."""
        waits, total, current = [first], first, step
        while total < 900:
            waits.append(current)
            total += current
            current = min(self._policy.max_delay_s, current * self._policy.multiplier)
        return waits

    def wait(self, *, started_s: float, deadline_s: float) -> SettleResult:
        """Poll until the version settles or the next poll would pass the deadline."""
        polls = 0
        # When the version was last known to be unsettled: the update call itself for a fresh wait;
        # unknown for a wait resumed after a hand-back (it may have settled long before).
        fresh = self._now() - started_s < self._policy.first_delay_s
        unsettled_at: float | None = started_s if fresh else None
        for delay in self.delays(self._now() - started_s):
            jittered = delay * (1 + self._rng.uniform(-self._policy.jitter, self._policy.jitter))
            if self._now() + jittered >= deadline_s:
                return SettleResult(None, polls)
            self._sleep(jittered)
            polls += 1
            version = self._read()
            if version.settled:
                if unsettled_at is not None:
                    self._estimator.observe((unsettled_at + self._now()) / 2 - started_s)
                return SettleResult(version, polls)
            unsettled_at = self._now()
        return SettleResult(None, polls)
