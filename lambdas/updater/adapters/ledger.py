"""Ledger: the DynamoDB record that makes each request take effect exactly once.

One item per requestId (`pk = "req#<requestId>"`) walks RECEIVED -> APPLYING(base) -> APPLIED(to)
-> SUCCEEDED | FAILED. A lease (owner + expiry) makes sure only one invocation works on a request at
a time, so the same request arriving on both triggers, or redelivered while still running, cannot
call UpdateImageSetMetadata twice. The terminal outcome is stored before it is published, and
`published` is set after, so a redelivery re-publishes only an outcome whose publication was cut off.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from updater.domain.errors import RetryableServiceError


class LedgerStatus(StrEnum):
    RECEIVED = "RECEIVED"
    APPLYING = "APPLYING"
    APPLIED = "APPLIED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


TERMINAL = frozenset({LedgerStatus.SUCCEEDED, LedgerStatus.FAILED})


@dataclass(frozen=True)
class LedgerEntry:
    request_id: str
    status: LedgerStatus
    attempts: int
    polls: int
    received_at_ms: int
    base_version_id: str | None = None
    to_version_id: str | None = None
    applied_at_ms: int | None = None
    outcome: dict[str, Any] | None = None
    published: bool = False
    lease_owner: str | None = None
    lease_until_ms: int = 0
    turn_at_ms: int | None = None  # the pacing slot reserved for this request's next update call
    # Leases that ran out instead of being released: invocations that died (timed out, crashed)
    # while working on this request.
    abandoned: int = 0
    via: str | None = None  # the coalesced call last carrying this request's change

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


class LeaseHeld(Exception):
    """Another invocation is working on this request right now."""

    def __init__(self, until_ms: int) -> None:
        super().__init__(f"lease held until {until_ms}")
        self.until_ms = until_ms


def _key(request_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"req#{request_id}"}}


def _entry(request_id: str, item: dict[str, Any]) -> LedgerEntry:
    def num(name: str) -> int | None:
        return int(item[name]["N"]) if name in item else None

    def text(name: str) -> str | None:
        return str(item[name]["S"]) if name in item else None

    outcome = text("outcome")
    return LedgerEntry(
        request_id=request_id,
        status=LedgerStatus(text("status") or LedgerStatus.RECEIVED),
        attempts=num("attempts") or 0,
        polls=num("polls") or 0,
        received_at_ms=num("receivedAt") or 0,
        base_version_id=text("baseVersionId"),
        to_version_id=text("toVersionId"),
        applied_at_ms=num("appliedAt"),
        outcome=json.loads(outcome) if outcome else None,
        published=bool(item.get("published", {}).get("BOOL", False)),
        lease_owner=text("leaseOwner"),
        lease_until_ms=num("leaseUntil") or 0,
        turn_at_ms=num("turnAt"),
        abandoned=num("abandonedLeases") or 0,
        via=text("via"),
    )


def _conditional_failed(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class Ledger:
    def __init__(self, client: Any, table_name: str, ttl_days: int = 30) -> None:
        self._client = client
        self._table = table_name
        self._ttl_s = ttl_days * 86_400

    def get(self, request_id: str) -> LedgerEntry | None:
        item = self._client.get_item(TableName=self._table, Key=_key(request_id), ConsistentRead=True).get(
            "Item"
        )
        return _entry(request_id, item) if item else None

    def claim(
        self, request_id: str, *, datastore_id: str, image_set_id: str, owner: str, now_ms: int, lease_ms: int
    ) -> LedgerEntry:
        """Create or reopen the entry and take its lease; raise LeaseHeld if another owner holds it.

        A terminal, published entry is returned without taking the lease: the caller only replays it.
        """
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=_key(request_id),
                UpdateExpression=(
                    "SET #s = if_not_exists(#s, :received), receivedAt = if_not_exists(receivedAt, :now), "
                    "datastoreId = :ds, imageSetId = :is, expiresAt = if_not_exists(expiresAt, :exp), "
                    "lastLeaseOwner = if_not_exists(leaseOwner, :none), "
                    "leaseOwner = :owner, leaseUntil = :until ADD attempts :one"
                ),
                ConditionExpression=(
                    "attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :owner"
                ),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":received": {"S": LedgerStatus.RECEIVED},
                    ":now": {"N": str(now_ms)},
                    ":ds": {"S": datastore_id},
                    ":is": {"S": image_set_id},
                    ":exp": {"N": str(now_ms // 1000 + self._ttl_s)},
                    ":owner": {"S": owner},
                    ":until": {"N": str(now_ms + lease_ms)},
                    ":one": {"N": "1"},
                    ":none": {"S": ""},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as err:
            if not _conditional_failed(err):
                raise RetryableServiceError("DynamoDB", "ledger claim failed") from err
            held = self.get(request_id)
            if held is not None and held.terminal and held.published:
                return held  # finished and announced: the caller only replays it, no lease needed
            # Even a terminal entry waits while its owner is still publishing the outcome,
            # or the outcome would be published twice.
            raise LeaseHeld(held.lease_until_ms if held else now_ms) from err
        entry = _entry(request_id, answer["Attributes"])
        previous = answer["Attributes"].get("lastLeaseOwner", {}).get("S", "")
        if previous and previous != owner:  # released leases are removed: this one ran out
            entry = replace(entry, abandoned=self._count_abandoned(request_id))
        return entry

    def _count_abandoned(self, request_id: str) -> int:
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=_key(request_id),
                UpdateExpression="ADD abandonedLeases :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as err:
            raise RetryableServiceError("DynamoDB", "ledger update failed") from err
        return int(answer["Attributes"]["abandonedLeases"]["N"])

    def release(self, request_id: str, owner: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(request_id),
                UpdateExpression="REMOVE leaseOwner, leaseUntil",
                ConditionExpression="leaseOwner = :owner",
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except ClientError as err:
            if not _conditional_failed(err):
                raise

    def mark_applying(self, request_id: str, base_version_id: str, *, via: str | None = None) -> None:
        """Recorded before the update call: after a crash we know which version the change was based on.
        `via`: the coalesced call that carries this request's change (its claim on the base counts)."""
        values: dict[str, dict[str, Any]] = {
            "status": {"S": LedgerStatus.APPLYING},
            "baseVersionId": {"S": base_version_id},
        }
        if via is not None:
            values["via"] = {"S": via}
        self._set(request_id, values)

    def mark_applied(
        self, request_id: str, to_version_id: str, now_ms: int, *, base_version_id: str | None = None
    ) -> None:
        """`base_version_id` for entries not marked APPLYING first (members of a coalesced call)."""
        values: dict[str, dict[str, Any]] = {
            "status": {"S": LedgerStatus.APPLIED},
            "toVersionId": {"S": to_version_id},
            "appliedAt": {"N": str(now_ms)},
        }
        if base_version_id is not None:
            values["baseVersionId"] = {"S": base_version_id}
        self._set(request_id, values)

    def add_polls(self, request_id: str, polls: int) -> None:
        if polls:
            self._client.update_item(
                TableName=self._table,
                Key=_key(request_id),
                UpdateExpression="ADD polls :n",
                ExpressionAttributeValues={":n": {"N": str(polls)}},
            )

    def record_outcome(self, request_id: str, status: LedgerStatus, outcome: dict[str, Any]) -> LedgerEntry:
        """Store the terminal outcome once; if another invocation stored one first, return that one."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(request_id),
                UpdateExpression="SET #s = :status, outcome = :outcome, published = :false",
                ConditionExpression="attribute_not_exists(outcome)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":status": {"S": status},
                    ":outcome": {"S": json.dumps(outcome, sort_keys=True)},
                    ":false": {"BOOL": False},
                },
            )
        except ClientError as err:
            if not _conditional_failed(err):
                raise
        entry = self.get(request_id)
        assert entry is not None  # written just above or by the winner of the race
        return entry

    def set_turn(self, request_id: str, turn_at_ms: int | None) -> None:
        """Remember the pacing slot reserved for the request (None: it was used)."""
        if turn_at_ms is None:
            self._client.update_item(
                TableName=self._table, Key=_key(request_id), UpdateExpression="REMOVE turnAt"
            )
        else:
            self._set(request_id, {"turnAt": {"N": str(turn_at_ms)}})

    def mark_published(self, request_id: str) -> None:
        self._set(request_id, {"published": {"BOOL": True}})

    def _set(self, request_id: str, values: dict[str, dict[str, Any]]) -> None:
        names = {f"#a{i}": name for i, name in enumerate(values)}
        self._client.update_item(
            TableName=self._table,
            Key=_key(request_id),
            UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":v{i}": value for i, value in enumerate(values.values())},
        )
