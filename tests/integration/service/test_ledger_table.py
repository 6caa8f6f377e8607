"""LedgerTable against moto's DynamoDB: the conditional writes the lane's guarantees rest on."""

from __future__ import annotations

from typing import Any

import pytest

from updater.adapters.ledger import LedgerTable
from updater.domain.errors import RetryableServiceError
from updater.domain.ledger import LaneKey, LedgerStatus, PendingCall, PlanSummary

LANE = LaneKey("d" * 32, "i" * 32)


def _call(call_id: str = "r1", base: str = "1") -> PendingCall:
    return PendingCall(
        call_id=call_id,
        base_version_id=base,
        members=(call_id, "r2"),
        plans={call_id: PlanSummary({"Patient": ["PatientName"]}), "r2": PlanSummary()},
        started_at_ms=1_000,
    )


def test_open_creates_once_and_then_returns_what_exists(table: tuple[Any, str]) -> None:
    ledger = LedgerTable(*table)
    first = ledger.open("r1", digest="abc", datastore_id="d", image_set_id="i", received_at_ms=5)
    again = ledger.open("r1", digest="other", datastore_id="d", image_set_id="i", received_at_ms=9)
    assert first.created and not again.created
    assert (again.entry.digest, again.entry.received_at_ms) == ("abc", 5)  # the first one's, kept


def test_an_outcome_is_stored_once_and_the_loser_gets_the_winner(table: tuple[Any, str]) -> None:
    ledger = LedgerTable(*table)
    ledger.open("r1", digest="abc", datastore_id="d", image_set_id="i", received_at_ms=5)
    won = ledger.record_outcome("r1", LedgerStatus.SUCCEEDED, {"status": "SUCCEEDED", "toVersionId": "2"})
    lost = ledger.record_outcome("r1", LedgerStatus.FAILED, {"status": "FAILED"})
    again = ledger.record_outcome("r1", LedgerStatus.SUCCEEDED, {"status": "SUCCEEDED", "toVersionId": "2"})
    assert (won.stored, lost.stored, again.stored) == (True, False, False)  # the same outcome twice too
    assert won.entry.outcome == lost.entry.outcome == {"status": "SUCCEEDED", "toVersionId": "2"}
    assert lost.entry.status is LedgerStatus.SUCCEEDED and not lost.entry.published
    ledger.mark_published("r1")
    entry = ledger.get("r1")
    assert entry is not None and entry.published and entry.digest == "abc"


def test_a_lane_has_one_open_call_changed_and_closed_only_by_its_id(table: tuple[Any, str]) -> None:
    ledger = LedgerTable(*table)
    ledger.begin_call(LANE, _call())
    with pytest.raises(RetryableServiceError):
        ledger.begin_call(LANE, _call("other"))
    ledger.save_call(LANE, _call().landed_as("2", 2_000).polled(3, 2_500))
    ledger.save_call(LANE, _call("other").landed_as("9", 2_000))  # not the open call: ignored
    state, _ = ledger.read_unit(LANE, [])
    assert state.call is not None and (state.call.to_version_id, state.call.polls) == ("2", 3)
    assert state.call.plans["r1"].changed == {"Patient": ["PatientName"]}
    ledger.end_call(LANE, "other", settled_version_id="9")  # not the open call: ignored
    ledger.end_call(LANE, "r1", settled_version_id="2")
    state, _ = ledger.read_unit(LANE, [])
    assert state.call is None and state.settled_version_id == "2"


def test_read_unit_gets_the_lane_and_its_entries_in_one_call(table: tuple[Any, str]) -> None:
    client, name = table
    ledger = LedgerTable(client, name)
    for request_id in ("a", "b"):
        ledger.open(request_id, digest=request_id, datastore_id="d", image_set_id="i", received_at_ms=1)
    ledger.set_turn(LANE, 12_345)
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    state, entries = ledger.read_unit(LANE, ["a", "b", "missing"])
    assert calls == ["BatchGetItem"]
    assert state.turn_at_ms == 12_345 and state.call is None
    assert sorted(entries) == ["a", "b"]


def test_retries_in_a_row_count_up_until_a_call_lands_or_settles(table: tuple[Any, str]) -> None:
    ledger = LedgerTable(*table)
    assert [ledger.note_retry(LANE) for _ in range(3)] == [1, 2, 3]
    ledger.begin_call(LANE, _call())
    assert ledger.read_unit(LANE, [])[0].retries == 3  # a call begun is not yet progress
    ledger.end_call(LANE, "r1", settled_version_id=None)  # refused: it never landed
    assert ledger.note_retry(LANE) == 4
    ledger.begin_call(LANE, _call())
    ledger.save_call(LANE, _call().landed_as("2", 2_000))  # landed
    assert ledger.read_unit(LANE, [])[0].retries == 0
    assert ledger.note_retry(LANE) == 1
    ledger.end_call(LANE, "r1", settled_version_id="2")  # settled
    assert ledger.read_unit(LANE, [])[0].retries == 0


def test_a_member_marked_applied_keeps_its_call_unless_it_has_ended(table: tuple[Any, str]) -> None:
    ledger = LedgerTable(*table)
    ledger.open("r2", digest="x", datastore_id="d", image_set_id="i", received_at_ms=1)
    ledger.mark_applied("r2", _call().landed_as("2", 2_000))
    entry = ledger.get("r2")
    assert entry is not None and entry.status is LedgerStatus.APPLIED and entry.applied is not None
    assert entry.applied.to_version_id == "2"
    ledger.record_outcome("r2", LedgerStatus.SUCCEEDED, {"status": "SUCCEEDED"})
    ledger.mark_applied("r2", _call().landed_as("7", 2_000))  # ended already: nothing changes
    entry = ledger.get("r2")
    assert entry is not None and entry.status is LedgerStatus.SUCCEEDED


def test_an_unreachable_table_is_a_retryable_error(moto_server: Any) -> None:
    ledger = LedgerTable(moto_server.client("dynamodb"), "no-such-table")
    with pytest.raises(RetryableServiceError):
        ledger.get("r1")


def test_several_are_marked_published_in_one_transaction(table: tuple[Any, str]) -> None:
    client, name = table
    ledger = LedgerTable(client, name)
    for request_id in ("r1", "r2", "r3"):
        ledger.open(request_id, digest="abc", datastore_id="d", image_set_id="i", received_at_ms=5)
        ledger.record_outcome(request_id, LedgerStatus.SUCCEEDED, {"status": "SUCCEEDED"})
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    ledger.mark_published_many(["r1", "r2", "r1", "r3"])  # a request named twice is marked once
    assert calls == ["TransactWriteItems"]
    for request_id in ("r1", "r2", "r3"):
        entry = ledger.get(request_id)
        assert entry is not None and entry.published and entry.digest == "abc"
    calls.clear()
    ledger.mark_published_many(["r2"])
    assert calls == ["UpdateItem"]  # one alone: a plain write


def test_waiters_register_and_a_landed_call_is_saved_in_one_write(table: tuple[Any, str]) -> None:
    client, name = table
    ledger = LedgerTable(client, name)
    ledger.begin_call(LANE, _call())
    ledger.note_retry(LANE)
    landed = _call().landed_as("2", 2_000)
    assert ledger.wait_for_notice(LANE, "r1", ["receipt-1"], landed=landed) is None  # no notice yet
    state, _ = ledger.read_unit(LANE, [])
    assert state.call is not None and (state.call.to_version_id, state.call.applied_at_ms) == ("2", 2_000)
    assert state.retries == 0  # the call landed: progress, as save_call says
    assert ledger.note_settled(LANE, "2", "UPDATED", 3_000) == ("receipt-1",)
    assert ledger.wait_for_notice(LANE, "other", ["receipt-2"], landed=landed) is None  # not its call
    state, _ = ledger.read_unit(LANE, [])
    assert state.call is not None and state.call.call_id == "r1"
