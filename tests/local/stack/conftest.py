"""One moto server per test session; each test gets its own topology under a unique name prefix."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from local.moto_stack import AwsClients, MotoServer
from local.topology import LocalTopology, create_topology
from tests.local.stack.handwritten_stack import handwritten_stack_resources

# Short enough that a failed message reappears within a test.
TEST_VISIBILITY_TIMEOUT_S = 1
TEST_FUNCTION_TIMEOUT_S = 1.0


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def aws(moto_server: MotoServer) -> AwsClients:
    return moto_server.clients()


@pytest.fixture
def topology(aws: AwsClients) -> LocalTopology:
    return create_topology(
        handwritten_stack_resources(),
        aws,
        name_prefix=f"t{uuid.uuid4().hex[:8]}-",
        visibility_timeout_s=TEST_VISIBILITY_TIMEOUT_S,
        function_timeout_s=TEST_FUNCTION_TIMEOUT_S,
    )
