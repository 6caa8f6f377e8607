"""SettlePoller: wait for a new image set version to leave LOCKED/UPDATING, within a time budget.

HealthImaging has no waiter and does not document its settle time. Polling every second (what the
public examples do) notices a settle up to a second late and spends GetImageSet calls while nothing
can have happened yet. The poller learns the settle times it sees in this warm process: it sleeps
until shortly before the typical settle, then polls with short, growing, jittered steps, and hands
the request back instead of overrunning the Lambda's remaining time.
"""

from __future__ import annotations

import random
import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from updater.image_set import ImageSetVersion


@dataclass(frozen=True)
class SettlePolicy:
    first_delay_s: float = 0.15  # before anything has been observed
    min_step_s: float = 0.02
    step_fraction: float = 0.08  # steps near the expected settle are this share of it
    multiplier: float = 1.6
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
        first = policy.first_delay_s if early is None else max(policy.min_step_s, early - elapsed_s)
        step = (
            policy.min_step_s if typical is None else max(policy.min_step_s, typical * policy.step_fraction)
        )
        waits, total, current = [first], first, step
        while total < 900:  # far beyond any Lambda budget; the deadline stops the loop first
            waits.append(current)
            total += current
            current = min(policy.max_delay_s, current * policy.multiplier)
        return waits

    def wait(self, *, started_s: float, deadline_s: float) -> SettleResult:
        """Poll until the version settles or the next poll would pass the deadline."""
        polls = 0
        for delay in self.delays(self._now() - started_s):
            jittered = delay * (1 + self._rng.uniform(-self._policy.jitter, self._policy.jitter))
            if self._now() + jittered >= deadline_s:
                return SettleResult(None, polls)
            self._sleep(jittered)
            polls += 1
            version = self._read()
            if version.settled:
                self._estimator.observe(self._now() - started_s)
                return SettleResult(version, polls)
        return SettleResult(None, polls)
