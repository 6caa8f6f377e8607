"""Ledger leases against moto's DynamoDB: a lease that runs out instead of being released is counted."""

from __future__ import annotations

from typing import Any

import pytest

from updater.adapters.ledger import LeaseHeld, Ledger


@pytest.fixture
def ledger(table: tuple[Any, str]) -> Ledger:
    return Ledger(*table)


def claim(ledger: Ledger, owner: str, now_ms: int) -> Any:
    return ledger.claim("r1", datastore_id="d", image_set_id="i", owner=owner, now_ms=now_ms, lease_ms=1000)


def test_released_leases_are_not_counted(ledger: Ledger) -> None:
    assert claim(ledger, "a", 0).abandoned == 0
    ledger.release("r1", "a")
    assert claim(ledger, "b", 10).abandoned == 0


def test_a_lease_that_ran_out_is_counted_once_per_dead_owner(ledger: Ledger) -> None:
    claim(ledger, "a", 0)  # owner a dies: never releases
    with pytest.raises(LeaseHeld):
        claim(ledger, "b", 500)  # still a's: no count for a refused claim
    assert claim(ledger, "b", 1500).abandoned == 1
    assert claim(ledger, "b", 1600).abandoned == 1  # the same owner again is not a death
    assert claim(ledger, "c", 3000).abandoned == 2  # b died too
    ledger.release("r1", "c")
    entry = claim(ledger, "d", 3100)
    assert entry.abandoned == 2 and entry.attempts == 5
    stored = ledger.get("r1")
    assert stored is not None and stored.abandoned == 2
