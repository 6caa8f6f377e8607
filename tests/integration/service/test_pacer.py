"""UpdatePacer against moto's DynamoDB: the account-wide schedule holds under concurrent callers."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from local.moto_stack import MotoServer
from updater.adapters.ledger import Ledger
from updater.adapters.pacer import UpdatePacer
from updater.turns import STALE_AFTER_S, UpdateTurns


class SharedVirtualClock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def now(self) -> float:
        return self.t


@pytest.fixture
def table(moto_server: MotoServer) -> tuple[Any, str]:
    client = moto_server.client("dynamodb")
    name = f"pacer-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client, name


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


def test_a_stale_slot_is_given_up_for_a_new_one(table: tuple[Any, str]) -> None:
    client, name = table
    clock = SleepingClock()
    pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now, margin_s=0.0)
    turns = UpdateTurns(pacer, Ledger(client, name), clock)
    stale = clock.t - STALE_AFTER_S - 1
    assert turns.wait_for_turn("late", stale, inline_wait_s=1.5) == 0.0
    assert pacer.reserve() == pytest.approx(clock.t + 4.0)  # a fresh slot was taken for the late one
