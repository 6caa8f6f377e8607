"""UpdatePacer against moto's DynamoDB: the account-wide schedule holds under concurrent callers."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest

from updater.adapters.ledger import LedgerTable
from updater.adapters.pacer import UpdatePacer
from updater.domain.ledger import LaneKey
from updater.domain.pacing import PacedTurns


class NoMetrics:
    def count(self, name: str, value: float = 1, reason: str | None = None) -> None:
        pass

    def observe(self, name: str, value: float, unit: str) -> None:
        pass


class SharedVirtualClock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def now(self) -> float:
        return self.t


def test_quota_rate_gives_one_slot_every_four_seconds(table: tuple[Any, str]) -> None:
    client, name = table
    clock = SharedVirtualClock()
    start = clock.t
    pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now, margin_s=0.0)
    assert pacer.reserve() == start
    assert pacer.reserve() == pytest.approx(start + 4.0)  # each waiter gets its own, later slot
    assert pacer.reserve() == pytest.approx(start + 8.0)
    clock.t += 20.0  # idle time does not bank extra calls beyond the burst
    assert pacer.reserve() == clock.t
    assert pacer.reserve() == pytest.approx(clock.t + 4.0)


def test_margin_spaces_slots_slightly_wider_than_the_quota(table: tuple[Any, str]) -> None:
    client, name = table
    clock = SharedVirtualClock()
    pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now)
    assert pacer.reserve() == clock.t
    assert pacer.reserve() == pytest.approx(clock.t + 4.2)


def test_burst_allows_that_many_back_to_back(table: tuple[Any, str]) -> None:
    client, name = table
    clock = SharedVirtualClock()
    pacer = UpdatePacer(client, name, rate_per_second=0.5, burst=3, now=clock.now, margin_s=0.0)
    assert [pacer.reserve() for _ in range(3)] == [clock.t] * 3
    assert pacer.reserve() == pytest.approx(clock.t + 2.0)


def test_at_todays_quota_calls_use_nearly_all_of_it_and_leave_some_burst_unused(
    table: tuple[Any, str],
) -> None:
    """10/s, burst 40, the default margin: 36 back to back (4 tokens stay in the service's bucket
    for jitter), then one every 0.105 s (95 % of the quota), not every 0.3 s."""
    client, name = table
    clock = SharedVirtualClock()
    pacer = UpdatePacer(client, name, rate_per_second=10, burst=40, now=clock.now)
    start = clock.t
    slots = [pacer.reserve() for _ in range(56)]
    assert slots[:36] == pytest.approx([start] * 36, abs=1e-6)
    steady = [later - earlier for earlier, later in itertools.pairwise(slots[35:])]
    # DynamoDB adds exactly; the differences of epoch floats are exact to about 2e-7 s.
    assert steady == pytest.approx([0.105] * len(steady), abs=1e-6)


def _race(
    client: Any, name: str, clock: SharedVirtualClock, *, invocations: int, rate_per_second: float
) -> list[float]:
    """The slots `invocations` pacers of their own reserve, all released at one instant."""
    slots: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(invocations)

    def worker() -> None:
        pacer = UpdatePacer(
            client, name, rate_per_second=rate_per_second, burst=1, now=clock.now, margin_s=0.0
        )
        start.wait()
        slot = pacer.reserve()
        with lock:
            slots.append(slot)

    threads = [threading.Thread(target=worker) for _ in range(invocations)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return slots


def test_concurrent_invocations_never_share_a_slot(table: tuple[Any, str]) -> None:
    """Eight workers race at one instant: eight distinct slots, 4 seconds apart."""
    client, name = table
    clock = SharedVirtualClock()
    slots = _race(client, name, clock, invocations=8, rate_per_second=0.25)
    assert sorted(slots) == pytest.approx([clock.t + 4.0 * i for i in range(8)])


def _count_writes(client: Any) -> list[str]:
    writes: list[str] = []
    client.meta.events.register(
        "before-parameter-build.dynamodb.UpdateItem",
        lambda params, **_: writes.append(params["UpdateExpression"]),
    )
    return writes


def test_a_reservation_on_a_busy_schedule_is_one_write_whatever_this_process_saw(
    table: tuple[Any, str],
) -> None:
    """Other invocations moved the schedule since this one last looked: still one write, no race."""
    client, name = table
    clock = SharedVirtualClock()
    mine = UpdatePacer(client, name, rate_per_second=10, burst=1, now=clock.now, margin_s=0.0)
    others = UpdatePacer(client, name, rate_per_second=10, burst=1, now=clock.now, margin_s=0.0)
    mine.reserve()
    for _ in range(5):
        others.reserve()
    writes = _count_writes(client)
    assert mine.reserve() == pytest.approx(clock.t + 0.6)
    assert writes == ["SET tat = tat + :interval"]


def test_sixteen_racing_invocations_take_sixteen_slots_in_at_most_two_writes_each(
    table: tuple[Any, str],
) -> None:
    client, name = table
    clock = SharedVirtualClock()
    writes = _count_writes(client)
    slots = _race(client, name, clock, invocations=16, rate_per_second=10)
    assert sorted(slots) == pytest.approx([clock.t + 0.1 * i for i in range(16)], abs=1e-6)
    assert len(writes) <= 2 * 16 - 1  # one restarts the schedule; a loser's second write wins


def test_an_idle_schedule_restarts_at_now(table: tuple[Any, str]) -> None:
    client, name = table
    clock = SharedVirtualClock()
    pacer = UpdatePacer(client, name, rate_per_second=10, burst=1, now=clock.now, margin_s=0.0)
    pacer.reserve()
    pacer.reserve()
    clock.t += 60.0
    writes = _count_writes(client)
    assert pacer.reserve() == clock.t  # the minute idle is not banked: no slot in the past
    assert pacer.reserve() == pytest.approx(clock.t + 0.1)
    # the increment, tried first, finds the schedule behind: one restart, then increments again
    assert writes == ["SET tat = tat + :interval", "SET tat = :new", "SET tat = tat + :interval"]


class SleepingClock(SharedVirtualClock):
    def sleep(self, seconds: float) -> None:
        self.t += seconds


LANE = LaneKey("d" * 32, "i" * 32)


def _turns(pacer: UpdatePacer, ledger: LedgerTable, clock: SleepingClock, **options: float) -> PacedTurns:
    return PacedTurns(pacer, ledger, clock, NoMetrics(), inline_wait_s=1.5, **options)


def test_a_waiting_lane_keeps_its_slot_and_calls_on_time(table: tuple[Any, str]) -> None:
    client, name = table
    clock = SleepingClock()
    start = clock.t
    pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now, margin_s=0.0)
    ledger = LedgerTable(client, name)
    turns = _turns(pacer, ledger, clock)
    other = LaneKey("d" * 32, "o" * 32)

    assert turns.wait(other, None) == 0.0  # the free slot, now
    wait = turns.wait(LANE, None)
    assert wait == pytest.approx(4.0)
    state, _ = ledger.read_unit(LANE, [])
    assert state.turn_at_ms == int((start + 4.0) * 1000)

    clock.t += 3.0  # the message waited floor(4.0 - 0.5) s; it comes back a second early
    assert turns.wait(LANE, state.turn_at_ms) == 0.0
    assert clock.t == pytest.approx(start + 4.0)  # waited the last second in the invocation
    assert pacer.reserve() == pytest.approx(start + 8.0)  # its slot was not reserved twice


def test_a_missed_slot_is_given_up_for_a_new_one(table: tuple[Any, str]) -> None:
    """A delivery that came back after its slot must not call on it: the next slot is someone else's."""
    client, name = table
    clock = SleepingClock()
    pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now, margin_s=0.2)
    turns = _turns(pacer, LedgerTable(client, name), clock, late_tolerance_s=0.1)
    mine = pacer.reserve()
    following = pacer.reserve()  # another lane's slot, 4.2 s after mine
    clock.t = mine + 0.7  # came back 0.7 s late: calling now would be 3.5 s before the next one
    wait = turns.wait(LANE, int(mine * 1000))
    assert wait == pytest.approx(following + 4.2 - clock.t, abs=0.01)  # a fresh slot, after the other's
    assert clock.t == pytest.approx(mine + 0.7)  # and no call now


def test_a_slightly_late_slot_is_still_used(table: tuple[Any, str]) -> None:
    client, name = table
    clock = SleepingClock()
    pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now, margin_s=0.2)
    turns = _turns(pacer, LedgerTable(client, name), clock, late_tolerance_s=0.1)
    mine = pacer.reserve()
    pacer.reserve()
    clock.t = mine + 0.05
    assert turns.wait(LANE, int(mine * 1000)) == 0.0


def test_a_call_answered_late_delays_the_next_call(table: tuple[Any, str]) -> None:
    """The previous call spent longer in transit than the margin: the next one waits for its answer's
    quota interval, however early its own slot is."""
    client, name = table
    clock = SleepingClock()
    pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now, margin_s=0.2)
    turns = _turns(pacer, LedgerTable(client, name), clock)
    assert turns.wait(LANE, None) == 0.0
    clock.t += 1.0  # the first call's answer came back a second after it was sent
    turns.call_ended()
    answered = clock.t
    clock.t += 2.7  # the second lane arrives 0.5 s before its slot (4.2 s after the first)
    assert turns.wait(LaneKey("d" * 32, "s" * 32), None) == 0.0
    assert clock.t == pytest.approx(answered + 4.0)  # not at its slot (3.7 s after the answer)


def test_a_call_answered_much_later_makes_the_next_lane_wait(table: tuple[Any, str]) -> None:
    client, name = table
    clock = SleepingClock()
    pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now, margin_s=0.2)
    turns = _turns(pacer, LedgerTable(client, name), clock)
    turns.wait(LANE, None)
    clock.t += 3.0
    turns.call_ended()
    clock.t += 1.2  # the second lane's slot, now; the first call's interval ends in 2.8 s
    assert turns.wait(LaneKey("d" * 32, "s" * 32), None) == pytest.approx(2.8)


def test_an_older_answer_does_not_move_the_guard_back(table: tuple[Any, str]) -> None:
    client, name = table
    clock = SharedVirtualClock()
    pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now)
    assert pacer.earliest_call() == 0.0
    pacer.call_ended(clock.t + 2.0)
    pacer.call_ended(clock.t + 1.0)  # a slower invocation reporting an earlier answer
    assert pacer.earliest_call() == pytest.approx(clock.t + 6.0)
    pacer.reserve()  # the schedule and the guard live in one item without disturbing each other
    assert pacer.earliest_call() == pytest.approx(clock.t + 6.0)
