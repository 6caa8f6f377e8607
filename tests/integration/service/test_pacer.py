"""UpdatePacer against moto's DynamoDB: the account-wide schedule holds under concurrent callers."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from updater.adapters.ledger import Ledger
from updater.adapters.pacer import UpdatePacer
from updater.turns import UpdateTurns


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


def test_concurrent_invocations_never_share_a_slot(table: tuple[Any, str]) -> None:
    """Eight workers race at one instant: eight distinct slots, 4 seconds apart."""
    client, name = table
    clock = SharedVirtualClock()
    slots: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now, margin_s=0.0)
        slot = pacer.reserve()
        with lock:
            slots.append(slot)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(slots) == pytest.approx([clock.t + 4.0 * i for i in range(8)])


class SleepingClock(SharedVirtualClock):
    def sleep(self, seconds: float) -> None:
        self.t += seconds


def test_a_waiting_request_keeps_its_slot_and_calls_on_time(table: tuple[Any, str]) -> None:
    client, name = table
    clock = SleepingClock()
    start = clock.t
    pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now, margin_s=0.0)
    ledger = Ledger(client, name)
    turns = UpdateTurns(pacer, ledger, clock)
    ledger.claim(
        "first", datastore_id="d", image_set_id="i", owner="o", now_ms=int(start * 1000), lease_ms=1000
    )
    ledger.claim(
        "second", datastore_id="d", image_set_id="i", owner="o", now_ms=int(start * 1000), lease_ms=1000
    )

    assert turns.wait_for_turn("first", None, inline_wait_s=1.5) == 0.0  # the free slot, now
    wait = turns.wait_for_turn("second", None, inline_wait_s=1.5)
    assert wait == pytest.approx(4.0)
    entry = ledger.get("second")
    assert entry is not None and entry.turn_at_ms == int((start + 4.0) * 1000)

    clock.t += 3.0  # handed back for floor(4.0) - 1 s; comes back a second early
    assert turns.wait_for_turn("second", entry.turn_at_ms / 1000, inline_wait_s=1.5) == 0.0
    assert clock.t == pytest.approx(start + 4.0)  # waited the last second in the invocation
    turns.used("second", entry.turn_at_ms / 1000)
    after = ledger.get("second")
    assert after is not None and after.turn_at_ms is None
    assert pacer.reserve() == pytest.approx(start + 8.0)  # its slot was not reserved twice


def test_a_missed_slot_is_given_up_for_a_new_one(table: tuple[Any, str]) -> None:
    """A delivery that came back after its slot must not call on it: the next slot is someone else's."""
    client, name = table
    clock = SleepingClock()
    pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now, margin_s=0.2)
    turns = UpdateTurns(pacer, Ledger(client, name), clock, late_tolerance_s=0.1)
    mine = pacer.reserve()
    following = pacer.reserve()  # another request's slot, 4.2 s after mine
    clock.t = mine + 0.7  # came back 0.7 s late: calling now would be 3.5 s before the next one
    wait = turns.wait_for_turn("late", mine, inline_wait_s=1.5)
    assert wait == pytest.approx(following + 4.2 - clock.t)  # a fresh slot, after the other request's
    assert clock.t == pytest.approx(mine + 0.7)  # and no call now


def test_a_slightly_late_slot_is_still_used(table: tuple[Any, str]) -> None:
    client, name = table
    clock = SleepingClock()
    pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now, margin_s=0.2)
    turns = UpdateTurns(pacer, Ledger(client, name), clock, late_tolerance_s=0.1)
    mine = pacer.reserve()
    pacer.reserve()
    clock.t = mine + 0.05
    assert turns.wait_for_turn("late", mine, inline_wait_s=1.5) == 0.0


def test_a_call_answered_late_delays_the_next_call(table: tuple[Any, str]) -> None:
    """The previous call spent longer in transit than the margin: the next one waits for its answer's
    quota interval, however early its own slot is."""
    client, name = table
    clock = SleepingClock()
    pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now, margin_s=0.2)
    turns = UpdateTurns(pacer, Ledger(client, name), clock)
    assert turns.wait_for_turn("first", None, inline_wait_s=1.5) == 0.0
    clock.t += 1.0  # the first call's answer came back a second after it was sent
    turns.call_ended()
    answered = clock.t
    clock.t += 2.7  # the second request arrives 0.5 s before its slot (4.2 s after the first)
    assert turns.wait_for_turn("second", None, inline_wait_s=1.5) == 0.0
    assert clock.t == pytest.approx(answered + 4.0)  # not at its slot (3.7 s after the answer)


def test_a_call_answered_much_later_hands_the_next_request_back(table: tuple[Any, str]) -> None:
    client, name = table
    clock = SleepingClock()
    pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now, margin_s=0.2)
    turns = UpdateTurns(pacer, Ledger(client, name), clock)
    turns.wait_for_turn("first", None, inline_wait_s=1.5)
    clock.t += 3.0
    turns.call_ended()
    clock.t += 1.2  # the second request's slot, now; the first call's interval ends in 2.8 s
    assert turns.wait_for_turn("second", None, inline_wait_s=1.5) == pytest.approx(2.8)


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
