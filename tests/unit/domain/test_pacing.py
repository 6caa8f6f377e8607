"""PacedTurns: a lane that must wait for its slot is told how long from when it is told."""

from __future__ import annotations

import pytest

from tests.unit.domain.fakes import FakeLedger, FakeMetrics, FakePacer, VirtualClock
from tests.unit.domain.lane_world import LANE
from updater.domain.ledger import LaneKey
from updater.domain.pacing import PacedTurns
from updater.domain.step_results import PACING_EARLY_S, Wait, WaitReason


class _SlowLedger(FakeLedger):
    """Keeping the slot takes a while, as a DynamoDB write on a busy host does."""

    def __init__(self, clock: VirtualClock, write_s: float) -> None:
        super().__init__()
        self._clock = clock
        self._write_s = write_s

    def set_turn(self, lane: LaneKey, turn_at_ms: int | None) -> None:
        self._clock.advance(self._write_s)
        super().set_turn(lane, turn_at_ms)


@pytest.mark.parametrize("write_s", [0.0, 0.3, 1.2])
def test_the_wait_ends_at_the_reserved_slot_however_long_keeping_it_took(write_s: float) -> None:
    clock = VirtualClock()
    pacer = FakePacer(clock, rate=0.25)
    pacer.reserve()  # the slot now is taken: ours is 4 s away
    ledger = _SlowLedger(clock, write_s)
    turns = PacedTurns(pacer, ledger, clock, FakeMetrics(), inline_wait_s=2.0)

    wait = turns.wait(LANE, None)

    slot = ledger.lanes[LANE].turn_at_ms
    assert slot is not None
    assert clock.now() + wait == pytest.approx(slot / 1000, abs=0.001)


def test_a_pacing_wait_hidden_later_in_its_invocation_still_ends_before_its_slot() -> None:
    """A batch's other lanes take their steps before any message is hidden."""
    slot = 1_800_000_012.9
    wait = Wait(12.5, WaitReason.PACING, until_s=slot)
    told_at = slot - 12.5
    assert wait.visibility_at(told_at) == wait.visibility_s == 12
    hidden_at = told_at + 3.2  # three lanes' steps later
    assert hidden_at + wait.visibility_at(hidden_at) <= slot - PACING_EARLY_S
    assert wait.visibility_at(slot + 1) == 0  # past its slot: back at once
    settling = Wait(2.0, WaitReason.SETTLING)
    assert settling.visibility_at(told_at + 5) == settling.visibility_s == 2  # no end time: as it was
