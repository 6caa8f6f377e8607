"""LedgerTable: the domain's Ledger on one DynamoDB table.

    pk = "req#<requestId>"                 one request: status, receivedAt, digest, outcome, published
    pk = "lane#<datastoreId>#<imageSetId>"  one image set's lane: the open call, the reserved slot
    pk = "pacer#UpdateImageSetMetadata"     the account-wide update schedule (adapters.pacer)

Every write that must not race is conditional: an outcome is stored once (`attribute_not_exists`),
a call is opened only on a lane without one and changed or closed only by its own id. A conditional
write that loses returns the item that won (ReturnValuesOnConditionCheckFailure), so no second read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from updater.adapters.ledger_items import (
    ConditionFailed,
    call_wire,
    dynamodb_errors,
    entry_of,
    lane_key,
    lane_state_of,
    notice_of,
    request_key,
)
from updater.domain.errors import RetryableServiceError
from updater.domain.ledger import (
    LaneKey,
    LaneState,
    LedgerEntry,
    LedgerStatus,
    Notice,
    OpenedEntry,
    PendingCall,
    StoredOutcome,
)

TRANSACT_LIMIT = 100  # DynamoDB: actions per TransactWriteItems


class LedgerTable:
    def __init__(self, client: Any, table_name: str, ttl_days: int = 30) -> None:
        self._client = client
        self._table = table_name
        self._ttl_s = ttl_days * 86_400

    # -- requests ------------------------------------------------------------------------------
    def open(
        self,
        request_id: str,
        *,
        digest: str,
        datastore_id: str,
        image_set_id: str,
        received_at_ms: int,
        parent_id: str | None = None,
    ) -> OpenedEntry:
        parent = ", parentId = if_not_exists(parentId, :parent)" if parent_id is not None else ""
        extra = {":parent": {"S": parent_id}} if parent_id is not None else {}
        with dynamodb_errors():
            answer = self._client.update_item(
                TableName=self._table,
                Key=request_key(request_id),
                UpdateExpression=(
                    "SET #s = if_not_exists(#s, :received), receivedAt = if_not_exists(receivedAt, :now), "
                    "digest = if_not_exists(digest, :digest), datastoreId = if_not_exists(datastoreId, :ds), "
                    "imageSetId = if_not_exists(imageSetId, :is), expiresAt = if_not_exists(expiresAt, :exp)"
                    + parent
                ),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":received": {"S": LedgerStatus.RECEIVED},
                    ":now": {"N": str(received_at_ms)},
                    ":digest": {"S": digest},
                    ":ds": {"S": datastore_id},
                    ":is": {"S": image_set_id},
                    ":exp": {"N": str(received_at_ms // 1000 + self._ttl_s)},
                    **extra,
                },
                ReturnValues="ALL_OLD",
            )
        old = answer.get("Attributes")
        if old:
            return OpenedEntry(entry_of(request_id, old), created=False)
        entry = LedgerEntry(
            request_id, LedgerStatus.RECEIVED, received_at_ms, digest=digest, parent_id=parent_id
        )
        return OpenedEntry(entry, created=True)

    def get(self, request_id: str) -> LedgerEntry | None:
        with dynamodb_errors():
            item = self._client.get_item(
                TableName=self._table, Key=request_key(request_id), ConsistentRead=True
            ).get("Item")
        return entry_of(request_id, item) if item else None

    def record_outcome(
        self, request_id: str, status: LedgerStatus, outcome: Mapping[str, Any]
    ) -> StoredOutcome:
        try:
            with dynamodb_errors():
                answer = self._client.update_item(
                    TableName=self._table,
                    Key=request_key(request_id),
                    UpdateExpression="SET #s = :status, outcome = :outcome, published = :false",
                    ConditionExpression="attribute_not_exists(outcome)",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={
                        ":status": {"S": status},
                        ":outcome": {"S": json.dumps(outcome, sort_keys=True)},
                        ":false": {"BOOL": False},
                    },
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ConditionFailed as lost:
            assert lost.item is not None  # the condition failed on an existing outcome
            return StoredOutcome(entry_of(request_id, lost.item), stored=False)
        return StoredOutcome(entry_of(request_id, answer["Attributes"]), stored=True)

    def mark_published(self, request_id: str) -> None:
        with dynamodb_errors():
            self._client.update_item(**self._published(request_id))

    def _published(self, request_id: str) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Key": request_key(request_id),
            "UpdateExpression": "SET published = :true",
            "ExpressionAttributeValues": {":true": {"BOOL": True}},
        }

    def mark_published_many(self, request_ids: Sequence[str]) -> None:
        """One transaction for several (a coalesced call's members): one round trip instead of one
        each, at twice the write units. A transaction cancelled by a racing write to one of them
        (a replay marking it too) is done one by one."""
        ids = list(dict.fromkeys(request_ids))  # a transaction may name an item once
        if len(ids) == 1:
            self.mark_published(ids[0])
            return
        for start in range(0, len(ids), TRANSACT_LIMIT):
            chunk = ids[start : start + TRANSACT_LIMIT]
            updates = [{"Update": self._published(request_id)} for request_id in chunk]
            try:
                with dynamodb_errors():
                    self._client.transact_write_items(TransactItems=updates)
            except RetryableServiceError as err:
                if err.aws_code != "TransactionCanceledException":
                    raise
                for request_id in chunk:
                    self.mark_published(request_id)

    def mark_applied(self, request_id: str, call: PendingCall) -> None:
        try:
            with dynamodb_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=request_key(request_id),
                    UpdateExpression="SET #s = :applied, applied = :call",
                    ConditionExpression="attribute_not_exists(outcome)",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={
                        ":applied": {"S": LedgerStatus.APPLIED},
                        ":call": {"S": json.dumps(call_wire(call), sort_keys=True)},
                    },
                )
        except ConditionFailed:
            pass  # it ended already (its own delivery, or the finalizer, got there first)

    # -- lanes -----------------------------------------------------------------------------------
    def read_unit(
        self, lane: LaneKey, request_ids: Sequence[str]
    ) -> tuple[LaneState, dict[str, LedgerEntry]]:
        keys = [lane_key(lane), *(request_key(r) for r in dict.fromkeys(request_ids))]
        items: list[dict[str, Any]] = []
        pending: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        while pending:
            with dynamodb_errors():
                answer = self._client.batch_get_item(RequestItems=pending)
            items.extend(answer.get("Responses", {}).get(self._table, []))
            pending = answer.get("UnprocessedKeys") or {}
        by_key = {item["pk"]["S"]: item for item in items}
        lane_item = by_key.get(lane_key(lane)["pk"]["S"])
        entries = {r: entry_of(r, by_key[f"req#{r}"]) for r in request_ids if f"req#{r}" in by_key}
        return lane_state_of(lane, lane_item), entries

    def begin_call(self, lane: LaneKey, call: PendingCall) -> None:
        try:
            self._begin_call(lane, call)
        except ConditionFailed as err:  # only after a defect or a race the lane rules out: try later
            raise RetryableServiceError("CallAlreadyOpen", "the lane has an open call") from err

    def _begin_call(self, lane: LaneKey, call: PendingCall) -> None:
        with dynamodb_errors():
            self._client.update_item(
                TableName=self._table,
                Key=lane_key(lane),
                # callTo: the version the call makes if it lands (base + 1), so a settle notice
                # can be matched before the call has even answered.
                UpdateExpression=(
                    "SET callId = :id, #c = :call, callTo = :to, expiresAt = :exp "
                    "REMOVE turnAt, notice, waiting, settledVersionId, settledIsPrimary"
                ),
                ConditionExpression="attribute_not_exists(callId)",
                ExpressionAttributeNames={"#c": "call"},
                ExpressionAttributeValues={
                    ":id": {"S": call.call_id},
                    ":to": {"S": str(int(call.base_version_id) + 1)},
                    ":call": {"S": json.dumps(call_wire(call), sort_keys=True)},
                    ":exp": {"N": str(call.started_at_ms // 1000 + self._ttl_s)},
                },
            )

    def save_call(self, lane: LaneKey, call: PendingCall) -> None:
        try:
            with dynamodb_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=lane_key(lane),
                    # The call landed: progress, so the retries in a row start again.
                    UpdateExpression="SET #c = :call REMOVE retries",
                    ConditionExpression="callId = :id",
                    ExpressionAttributeNames={"#c": "call"},
                    ExpressionAttributeValues={
                        ":id": {"S": call.call_id},
                        ":call": {"S": json.dumps(call_wire(call), sort_keys=True)},
                    },
                )
        except ConditionFailed:
            pass  # resolved meanwhile (the finalizer, for a member whose deliveries ran out)

    def end_call(
        self, lane: LaneKey, call_id: str, *, settled_version_id: str | None, is_primary: bool | None = None
    ) -> None:
        expression = "REMOVE callId, #c, callTo, notice, waiting"
        values: dict[str, Any] = {":id": {"S": call_id}}
        if settled_version_id is not None:  # progress: the retries in a row start again
            expression = "SET settledVersionId = :v, settledIsPrimary = :p " + expression + ", retries"
            values[":v"] = {"S": settled_version_id}
            values[":p"] = {"NULL": True} if is_primary is None else {"BOOL": is_primary}
        try:
            with dynamodb_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=lane_key(lane),
                    UpdateExpression=expression,
                    ConditionExpression="callId = :id",
                    ExpressionAttributeNames={"#c": "call"},
                    ExpressionAttributeValues=values,
                )
        except ConditionFailed:
            pass  # ended already

    def note_settled(
        self, lane: LaneKey, version_id: str, workflow_status: str, at_ms: int
    ) -> tuple[str, ...] | None:
        notice = {"version_id": version_id, "workflow_status": workflow_status, "noticed_at_ms": at_ms}
        try:
            with dynamodb_errors():
                answer = self._client.update_item(
                    TableName=self._table,
                    Key=lane_key(lane),
                    UpdateExpression="SET notice = :notice",
                    ConditionExpression="callTo = :to",
                    ExpressionAttributeValues={
                        ":notice": {"S": json.dumps(notice)},
                        ":to": {"S": version_id},
                    },
                    ReturnValues="ALL_NEW",
                )
        except ConditionFailed:
            return None  # not a version an open call of ours makes
        return tuple(w["S"] for w in answer["Attributes"].get("waiting", {}).get("L", []))

    def wait_for_notice(
        self, lane: LaneKey, call_id: str, waiters: Sequence[str], *, landed: PendingCall | None = None
    ) -> Notice | None:
        expression = "SET waiting = :waiting"
        values: dict[str, Any] = {":waiting": {"L": [{"S": w} for w in waiters]}, ":id": {"S": call_id}}
        names: dict[str, str] = {}
        if landed is not None:  # save_call's write, in the same one
            expression = "SET waiting = :waiting, #c = :call REMOVE retries"
            values[":call"] = {"S": json.dumps(call_wire(landed), sort_keys=True)}
            names["#c"] = "call"
        try:
            with dynamodb_errors():
                answer = self._client.update_item(
                    TableName=self._table,
                    Key=lane_key(lane),
                    UpdateExpression=expression,
                    ConditionExpression="callId = :id",
                    ExpressionAttributeValues=values,
                    **({"ExpressionAttributeNames": names} if names else {}),
                    ReturnValues="ALL_NEW",
                )
        except ConditionFailed:
            return None  # resolved meanwhile: the waiters come back at their wait's end
        return notice_of(answer["Attributes"])

    def note_retry(self, lane: LaneKey) -> int:
        with dynamodb_errors():
            answer = self._client.update_item(
                TableName=self._table,
                Key=lane_key(lane),
                UpdateExpression="ADD retries :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
                ReturnValues="UPDATED_NEW",
            )
        return int(answer["Attributes"]["retries"]["N"])

    def set_turn(self, lane: LaneKey, turn_at_ms: int | None) -> None:
        with dynamodb_errors():
            if turn_at_ms is None:
                self._client.update_item(
                    TableName=self._table, Key=lane_key(lane), UpdateExpression="REMOVE turnAt"
                )
                return
            self._client.update_item(
                TableName=self._table,
                Key=lane_key(lane),
                UpdateExpression="SET turnAt = :t",
                ExpressionAttributeValues={":t": {"N": str(turn_at_ms)}},
            )
