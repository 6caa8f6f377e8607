"""A fresh ledger-shaped DynamoDB table in moto's server for each test (pk: string hash key)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from local.moto_stack import MotoServer


@pytest.fixture
def table(moto_server: MotoServer) -> tuple[Any, str]:
    client = moto_server.client("dynamodb")
    name = f"ledger-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client, name
