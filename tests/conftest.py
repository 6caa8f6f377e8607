"""Session-wide real servers: moto's server (SQS, DynamoDB, EventBridge, S3) on a free loopback port."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from local.moto_stack import MotoServer

# Never let a test reach real AWS by accident.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_DISABLE_HOST_PREFIX_INJECTION"] = "true"
# The suite checks the shipped cdk.json: a developer's cdk.context.local.json (real accounts) stays out.
os.environ["CDK_CONTEXT_LOCAL_FILE"] = ""


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server
