"""moto's DynamoDB item writes are atomic (local.moto_dynamodb_atomic), as DynamoDB's are: of many
concurrent conditional writes to one item exactly one passes, and no write is lost."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from local.moto_stack import AwsClients, local_client

KEYS = 12
WRITERS = 16


def _table(aws: AwsClients) -> str:
    name = f"atomic-{uuid.uuid4().hex[:8]}"
    aws.dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _at_once(work: Any, count: int) -> None:
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_of_concurrent_conditional_writes_to_one_new_item_exactly_one_passes(aws: AwsClients) -> None:
    table = _table(aws)
    endpoint = aws.dynamodb.meta.endpoint_url
    clients = [local_client("dynamodb", endpoint, max_pool_connections=2) for _ in range(WRITERS)]
    winners: dict[str, list[int]] = {f"k{n}": [] for n in range(KEYS)}
    lock = threading.Lock()

    def claim(index: int) -> None:
        for key, won in winners.items():
            try:
                clients[index].update_item(
                    TableName=table,
                    Key={"pk": {"S": key}},
                    UpdateExpression="SET claimedBy = :me",
                    ConditionExpression="attribute_not_exists(claimedBy)",
                    ExpressionAttributeValues={":me": {"N": str(index)}},
                )
            except clients[index].exceptions.ConditionalCheckFailedException:
                continue
            with lock:
                won.append(index)

    _at_once(claim, WRITERS)
    assert all(len(won) == 1 for won in winners.values()), winners
    for key, (winner,) in winners.items():
        item = aws.dynamodb.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)["Item"]
        assert item["claimedBy"]["N"] == str(winner)


def test_concurrent_writes_of_different_attributes_to_a_new_item_all_land(aws: AwsClients) -> None:
    """The ledger's open (if_not_exists) and a racing outcome write both stay on the item."""
    table = _table(aws)
    endpoint = aws.dynamodb.meta.endpoint_url
    clients = [local_client("dynamodb", endpoint) for _ in range(WRITERS)]

    def write(index: int) -> None:
        for n in range(KEYS):
            clients[index].update_item(
                TableName=table,
                Key={"pk": {"S": f"k{n}"}},
                UpdateExpression=f"SET a{index} = :v",
                ExpressionAttributeValues={":v": {"N": str(index)}},
            )

    _at_once(write, WRITERS)
    for n in range(KEYS):
        item = aws.dynamodb.get_item(TableName=table, Key={"pk": {"S": f"k{n}"}}, ConsistentRead=True)["Item"]
        assert {f"a{i}" for i in range(WRITERS)} <= set(item)
