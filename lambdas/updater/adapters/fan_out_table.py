"""FanOutTable: a parent's fan-out, on the parent's own item of the ledger table.

    pk = "req#<parentId>"   (the entry LedgerTable keeps, plus:)
        fanOut        the plan (JSON): children, selector kind, mode, trigger; written once
        childResults  map childRequestId -> the child's result (JSON); set by each child's end
        fanOutSent    true once every child was forwarded

A child's result is one `SET childResults.#child = :result`: the same child ending again writes the
same value, so a redelivery never counts twice, and the answer (ALL_NEW) says whether the set is
complete without another read. The plan is written only where none is (`attribute_not_exists`); a
resolution that loses gets the winner's plan back (ReturnValuesOnConditionCheckFailure).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from updater.adapters.ledger_items import ConditionFailed, dynamodb_errors, request_key
from updater.domain.batch import ChildResult, FanOutPlan, FanOutRecord


class FanOutTable:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def record_plan(self, parent_id: str, plan: FanOutPlan) -> FanOutRecord:
        try:
            with dynamodb_errors():
                answer = self._client.update_item(
                    TableName=self._table,
                    Key=request_key(parent_id),
                    UpdateExpression="SET fanOut = :plan, childResults = :none",
                    ConditionExpression="attribute_not_exists(fanOut)",
                    ExpressionAttributeValues={
                        ":plan": {"S": plan.model_dump_json(by_alias=True)},
                        ":none": {"M": {}},
                    },
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ConditionFailed as lost:
            assert lost.item is not None  # the condition fails only on an existing plan
            return _record(lost.item)
        return _record(answer["Attributes"])

    def read(self, parent_id: str) -> FanOutRecord | None:
        with dynamodb_errors():
            item = self._client.get_item(
                TableName=self._table, Key=request_key(parent_id), ConsistentRead=True
            ).get("Item")
        return _record(item) if item and "fanOut" in item else None

    def mark_sent(self, parent_id: str) -> None:
        with dynamodb_errors():
            self._client.update_item(
                TableName=self._table,
                Key=request_key(parent_id),
                UpdateExpression="SET fanOutSent = :true",
                ExpressionAttributeValues={":true": {"BOOL": True}},
            )

    def child_ended(self, parent_id: str, result: ChildResult) -> FanOutRecord | None:
        try:
            with dynamodb_errors():
                answer = self._client.update_item(
                    TableName=self._table,
                    Key=request_key(parent_id),
                    UpdateExpression="SET childResults.#child = :result",
                    ConditionExpression="attribute_exists(fanOut)",
                    ExpressionAttributeNames={"#child": result.request_id},
                    ExpressionAttributeValues={":result": {"S": result.model_dump_json(by_alias=True)}},
                    ReturnValues="ALL_NEW",
                )
        except ConditionFailed:
            return None  # no fan-out recorded: not a child of ours (its parent entry expired, say)
        return _record(answer["Attributes"])


def _record(item: Mapping[str, Any]) -> FanOutRecord:
    results = {
        child: ChildResult.model_validate(json.loads(value["S"]))
        for child, value in item.get("childResults", {}).get("M", {}).items()
    }
    return FanOutRecord(
        plan=FanOutPlan.model_validate_json(item["fanOut"]["S"]),
        sent=bool(item.get("fanOutSent", {}).get("BOOL", False)),
        results=results,
    )
