"""ReadBudget: this environment's share of the read quotas, on a virtual clock."""

from __future__ import annotations

import pytest

from updater.adapters.read_budget import ReadBudget, read_rates
from updater.domain.errors import ThrottledError


class Clock:
    def __init__(self) -> None:
        self.t = 100.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def test_each_environment_gets_its_share_of_each_quota() -> None:
    rates = read_rates({"GetImageSet": 25.0, "GetImageSetMetadata": 50.0}, share=0.5, concurrency=16)
    assert rates == pytest.approx({"GetImageSet": 0.78125, "GetImageSetMetadata": 1.5625})


def test_reads_within_the_burst_go_at_once_then_wait_their_turn_inline() -> None:
    clock = Clock()
    budget = ReadBudget({"GetImageSet": 2.0}, burst_s=1.0, max_wait_s=1.0, now=clock.now, sleep=clock.sleep)
    for _ in range(3):  # the burst: a second of the rate, and the first read
        budget.take("GetImageSet")
    assert clock.slept == []
    budget.take("GetImageSet")
    assert clock.slept == [pytest.approx(0.5)]
    budget.take("SearchImageSets")  # an operation with no budget is not paced
    assert len(clock.slept) == 1


def test_a_read_too_far_from_its_turn_is_a_throttle_that_says_when_the_turn_comes() -> None:
    """0.78 GetImageSet a second (25/s, half of it, over 16 environments) is 1.28 s between reads:
    back to back, the second is further from its turn than a read waits inline."""
    clock = Clock()
    budget = ReadBudget({"GetImageSet": 0.5}, burst_s=0.0, max_wait_s=1.0, now=clock.now, sleep=clock.sleep)
    budget.take("GetImageSet")
    with pytest.raises(ThrottledError) as throttled:
        budget.take("GetImageSet")  # its turn is 2 s away
    assert throttled.value.retry_after_s == pytest.approx(1.0)  # back then, the last second inline
    clock.t += throttled.value.retry_after_s
    budget.take("GetImageSet")  # the throttled read took no turn: this one has it
    assert clock.slept == [pytest.approx(1.0)]
    assert clock.t == pytest.approx(102.0)
