"""SettlePoller: polls until a version settles, learns typical settle times, never overruns its budget."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from updater.domain.image_set import ImageSetVersion
from updater.settle import SettleEstimator, SettlePoller


class VirtualTime:
    """A clock the test drives: sleeping advances it, nothing real waits."""

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def version_settling_at(clock: VirtualTime, settle_at: float, status: str = "UPDATED"):
    reads: list[float] = []

    def read() -> ImageSetVersion:
        reads.append(clock.now())
        if clock.now() >= settle_at:
            return ImageSetVersion("2", "ACTIVE", status)
        return ImageSetVersion("2", "LOCKED", "UPDATING")

    return read, reads


def poller(clock: VirtualTime, read, estimator: SettleEstimator | None = None) -> SettlePoller:
    return SettlePoller(
        read,
        now_s=clock.now,
        sleep=clock.sleep,
        estimator=estimator or SettleEstimator(),
        rng=random.Random(7),
    )


def test_returns_the_settled_version_and_counts_polls() -> None:
    clock = VirtualTime()
    read, reads = version_settling_at(clock, clock.t + 0.4)
    result = poller(clock, read).wait(started_s=clock.t, deadline_s=clock.t + 10)
    assert result.version is not None and result.version.workflow_status == "UPDATED"
    assert result.polls == len(reads)
    assert reads[-1] >= 1000.4 and all(t < 1000.4 for t in reads[:-1])


def test_update_failed_is_a_settled_answer() -> None:
    clock = VirtualTime()
    read, _ = version_settling_at(clock, clock.t + 0.2, status="UPDATE_FAILED")
    result = poller(clock, read).wait(started_s=clock.t, deadline_s=clock.t + 10)
    assert result.version is not None and result.version.update_failed


def test_stops_before_the_deadline_when_the_settle_is_too_slow() -> None:
    clock = VirtualTime()
    read, reads = version_settling_at(clock, clock.t + 60)
    deadline = clock.t + 3
    result = poller(clock, read).wait(started_s=clock.t, deadline_s=deadline)
    assert result.version is None
    assert reads and max(reads) < deadline and clock.now() < deadline


def test_learned_settle_time_cuts_polls_and_notice_lag() -> None:
    """After a few observed settles, the poller sleeps through the quiet part and notices promptly."""
    estimator = SettleEstimator()
    cold_polls: list[int] = []
    lags: list[float] = []
    for _ in range(8):
        clock = VirtualTime()
        start = clock.t
        read, _ = version_settling_at(clock, start + 2.0)
        result = poller(clock, read, estimator).wait(started_s=start, deadline_s=start + 30)
        cold_polls.append(result.polls)
        lags.append(clock.now() - (start + 2.0))
    assert cold_polls[-1] < cold_polls[0]
    assert lags[-1] <= 0.1 * 2.0  # noticed within 10 % of the settle time once learned


@pytest.mark.parametrize("settle", [1.5, 2.5, 4.0, 6.0, 9.0])
def test_once_learned_a_late_settle_is_noticed_within_a_tenth_of_its_settle_time(settle: float) -> None:
    """Settle times spread widely (log-normal): a slow one must not meet a step as long as max_delay_s."""
    estimator = SettleEstimator()
    for sample in (0.8, 1.0, 1.0, 1.2, 1.4):
        estimator.observe(sample)
    clock = VirtualTime()
    start = clock.t
    read, _ = version_settling_at(clock, start + settle)
    result = poller(clock, read, estimator).wait(started_s=start, deadline_s=start + 60)
    assert result.version is not None
    assert clock.now() - (start + settle) <= 0.1 * settle * 1.15  # the step's share, plus its jitter


def test_learns_when_versions_settled_not_when_they_were_noticed() -> None:
    """A first poll placed at the learned time must not become the next, later, sample (a ratchet)."""
    estimator = SettleEstimator()
    for _ in range(60):
        clock = VirtualTime()
        start = clock.t
        read, _ = version_settling_at(clock, start + 1.0)
        poller(clock, read, estimator).wait(started_s=start, deadline_s=start + 30)
    typical = estimator.typical()
    assert typical is not None and 0.9 <= typical <= 1.05


def test_a_resumed_wait_teaches_nothing() -> None:
    """After a hand-back the version may have settled long ago: the first poll says nothing about when."""
    estimator = SettleEstimator()
    clock = VirtualTime()
    applied = clock.t - 30.0
    read, _ = version_settling_at(clock, applied + 1.0)
    result = poller(clock, read, estimator).wait(started_s=applied, deadline_s=clock.t + 10)
    assert result.version is not None and list(estimator.samples) == []


@given(settle=st.floats(min_value=0.01, max_value=20), budget=st.floats(min_value=0.5, max_value=30))
def test_never_polls_after_the_deadline(settle: float, budget: float) -> None:
    clock = VirtualTime()
    start = clock.t
    read, reads = version_settling_at(clock, start + settle)
    result = poller(clock, read).wait(started_s=start, deadline_s=start + budget)
    assert all(t < start + budget for t in reads)
    if result.version is not None:
        assert clock.now() >= start + settle
