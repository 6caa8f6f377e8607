"""The cheaper moto hot spots give the answers moto's own code gives."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

import moto.backends
import moto.dynamodb.models
import moto.sqs.models
import pytest
from moto.dynamodb.models.table import Table

from local import moto_speedups
from local.moto_stack import AwsClients


def test_the_sqs_clock_reads_the_same_time_as_motos_datetime_arithmetic() -> None:
    moto_speedups.install()
    before = moto_speedups._original_unix_time_millis()
    fast = moto.sqs.models.unix_time_millis()
    after = moto_speedups._original_unix_time_millis()
    assert before <= fast <= after + 1  # same epoch and unit; at most rounding apart
    assert abs(moto.sqs.models.unix_time() * 1000 - fast) < 1000
    given = datetime(2026, 11, 30, 1, 2, 3)
    assert moto.sqs.models.unix_time_millis(given) == moto_speedups._original_unix_time_millis(given)


def test_the_module_list_is_moto_s_own_read_once() -> None:
    moto_speedups.install()
    modules = set(moto.backends.list_of_moto_modules())
    assert modules == set(moto_speedups._original_list_of_moto_modules())
    assert {"sqs", "dynamodb", "events", "s3"} <= modules
    assert "__pycache__" not in modules


def test_a_message_becomes_visible_when_its_visibility_timeout_ends() -> None:
    moto_speedups.install()
    message = moto.sqs.models.Message("id", "body")
    message.change_visibility(1)
    assert not message.visible
    time.sleep(1.05)
    assert message.visible


def _table(aws: AwsClients, *, range_key: bool = False) -> str:
    name = f"transact-{uuid.uuid4().hex[:8]}"
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attributes.append({"AttributeName": "sk", "AttributeType": "S"})
    aws.dynamodb.create_table(
        TableName=name, KeySchema=schema, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
    )
    return name


def _set(table: str, key: dict[str, Any], value: str, condition: str | None = None) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": table,
        "Key": key,
        "UpdateExpression": "SET v = :v",
        "ExpressionAttributeValues": {":v": {"S": value}},
    }
    if condition:
        update["ConditionExpression"] = condition
    return {"Update": update}


def _value(aws: AwsClients, table: str, key: dict[str, Any]) -> str | None:
    item = aws.dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    return None if item is None else str(item.get("v", {}).get("S"))


@pytest.mark.parametrize("range_key", [False, True])
def test_a_transaction_that_fails_leaves_every_item_as_it_was(aws: AwsClients, range_key: bool) -> None:
    """moto's server runs with the item-by-item backup (moto's process installs the speedups)."""
    table = _table(aws, range_key=range_key)

    def key(name: str) -> dict[str, Any]:
        return {"pk": {"S": name}, **({"sk": {"S": "s"}} if range_key else {})}

    aws.dynamodb.put_item(TableName=table, Item={**key("old"), "v": {"S": "before"}})
    with pytest.raises(aws.dynamodb.exceptions.TransactionCanceledException):
        aws.dynamodb.transact_write_items(
            TransactItems=[
                _set(table, key("old"), "after"),  # applied, then rolled back
                _set(table, key("new"), "created"),  # created, then removed
                _set(table, key("third"), "x", "attribute_exists(v)"),  # fails its condition
            ]
        )
    assert _value(aws, table, key("old")) == "before"
    assert _value(aws, table, key("new")) is None
    assert _value(aws, table, key("third")) is None
    aws.dynamodb.transact_write_items(
        TransactItems=[_set(table, key("old"), "after"), _set(table, key("new"), "created")]
    )
    assert (_value(aws, table, key("old")), _value(aws, table, key("new"))) == ("after", "created")


def test_tables_are_copied_as_ever_outside_a_transaction() -> None:
    moto_speedups.install()
    table = Table(
        "t",
        account_id="123456789012",
        region="us-east-1",
        schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        attr=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    assert moto.dynamodb.models.copy.deepcopy(table) is not table
    assert moto.dynamodb.models.copy.deepcopy({"a": [1]}) == {"a": [1]}
