"""The ledger table's items: their keys, how a request's entry and a lane's state read from them,
and DynamoDB's errors as the domain's (`adapters.ledger`, `adapters.fan_out_table` and
`adapters.pacer` all write to the one table).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from updater.domain.errors import RetryableServiceError
from updater.domain.ledger import (
    LaneKey,
    LaneState,
    LedgerEntry,
    LedgerStatus,
    Notice,
    PendingCall,
    PlanSummary,
)

_CONDITION_FAILED = "ConditionalCheckFailedException"


class ConditionFailed(Exception):
    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("condition failed")
        self.item = item


@contextmanager
def dynamodb_errors() -> Iterator[None]:
    """DynamoDB's errors as the domain's: a lost condition as ConditionFailed, the rest retryable."""
    try:
        yield
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code")
        if code == _CONDITION_FAILED:
            item = err.response.get("Item")
            raise ConditionFailed(item if isinstance(item, dict) else None) from err
        raise RetryableServiceError(str(code or "DynamoDB"), "ledger call failed") from err
    except BotoCoreError as err:
        raise RetryableServiceError(type(err).__name__, "ledger unreachable") from err


def request_key(request_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"req#{request_id}"}}


def lane_key(lane: LaneKey) -> dict[str, Any]:
    return {"pk": {"S": f"lane#{lane.datastore_id}#{lane.image_set_id}"}}


def entry_of(request_id: str, item: Mapping[str, Any]) -> LedgerEntry:
    outcome = item.get("outcome", {}).get("S")
    applied = item.get("applied", {}).get("S")
    return LedgerEntry(
        request_id=request_id,
        status=LedgerStatus(item.get("status", {}).get("S", LedgerStatus.RECEIVED)),
        received_at_ms=int(item.get("receivedAt", {}).get("N", "0")),
        digest=item.get("digest", {}).get("S", ""),
        outcome=json.loads(outcome) if outcome else None,
        published=bool(item.get("published", {}).get("BOOL", False)),
        applied=call_from_wire(json.loads(applied)) if applied else None,
        parent_id=item.get("parentId", {}).get("S"),
    )


def lane_state_of(lane: LaneKey, item: Mapping[str, Any] | None) -> LaneState:
    if not item:
        return LaneState(lane)
    call = item.get("call", {}).get("S")
    turn = item.get("turnAt", {}).get("N")
    return LaneState(
        lane,
        call=call_from_wire(json.loads(call)) if call and "callId" in item else None,
        turn_at_ms=int(turn) if turn is not None else None,
        settled_version_id=item.get("settledVersionId", {}).get("S"),
        settled_is_primary=item.get("settledIsPrimary", {}).get("BOOL"),
        notice=notice_of(item),
        retries=int(item.get("retries", {}).get("N", "0")),
    )


def notice_of(item: Mapping[str, Any]) -> Notice | None:
    text = item.get("notice", {}).get("S")
    if not text or "callId" not in item:
        return None
    notice = Notice(**json.loads(text))
    return notice if notice.version_id == item.get("callTo", {}).get("S") else None


def call_wire(call: PendingCall) -> dict[str, Any]:
    return asdict(call)


def call_from_wire(wire: Mapping[str, Any]) -> PendingCall:
    plans = {member: PlanSummary(**plan) for member, plan in wire.get("plans", {}).items()}
    return PendingCall(**{**wire, "members": tuple(wire["members"]), "plans": plans})
