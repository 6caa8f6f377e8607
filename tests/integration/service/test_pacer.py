"""UpdatePacer against moto's DynamoDB: the account-wide schedule holds under concurrent callers."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from local.moto_stack import MotoServer
from updater.adapters.pacer import UpdatePacer


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


def test_quota_rate_gives_one_token_every_four_seconds(table: tuple[Any, str]) -> None:
    client, name = table
    clock = SharedVirtualClock()
    pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now, margin_s=0.0)
    assert pacer.acquire() == 0.0
    assert pacer.acquire() == pytest.approx(4.0)
    clock.t += 3.0
    assert pacer.acquire() == pytest.approx(1.0)
    clock.t += 1.0
    assert pacer.acquire() == 0.0


def test_margin_spaces_tokens_slightly_wider_than_the_quota(table: tuple[Any, str]) -> None:
    client, name = table
    clock = SharedVirtualClock()
    pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now)
    assert pacer.acquire() == 0.0
    assert pacer.acquire() == pytest.approx(4.2)


def test_burst_allows_that_many_back_to_back(table: tuple[Any, str]) -> None:
    client, name = table
    clock = SharedVirtualClock()
    pacer = UpdatePacer(client, name, rate_per_second=0.5, burst=3, now=clock.now, margin_s=0.0)
    assert [pacer.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert pacer.acquire() == pytest.approx(2.0)


def test_concurrent_invocations_never_share_a_token(table: tuple[Any, str]) -> None:
    """Eight workers race at the same instants; per 4-second slot exactly one call is allowed."""
    client, name = table
    clock = SharedVirtualClock()
    granted: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        pacer = UpdatePacer(client, name, rate_per_second=0.25, burst=1, now=clock.now, margin_s=0.0)
        if pacer.acquire() == 0.0:
            with lock:
                granted.append(clock.t)

    for _slot in range(3):
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        clock.t += 4.0
    assert len(granted) == 3
    assert len(set(granted)) == 3
