"""LazyClient: a client many invocations never need is built at its first use, once."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.unit.domain.fakes import FakeMetrics
from updater.adapters.sdk import AwsClients, LazyClient


class _Client:
    def get_role(self, **_: Any) -> str:
        return "answered"


def test_nothing_is_built_until_the_first_call_and_then_only_once() -> None:
    built: list[_Client] = []

    def build() -> _Client:
        built.append(_Client())
        return built[-1]

    lazy: Any = LazyClient(build)
    assert built == []
    threads = [threading.Thread(target=lambda: lazy.get_role(RoleName="x")) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    assert lazy.get_role(RoleName="x") == "answered"


def test_the_conditional_clients_are_lazy_and_the_everyday_ones_are_not() -> None:
    clients = AwsClients()
    assert isinstance(clients.iam, LazyClient) and isinstance(clients.s3, LazyClient)
    assert not isinstance(clients.dynamodb, LazyClient)
    assert clients.iam.meta.service_model.service_name == "iam"  # built on first use, guarded like the others


def test_a_client_asked_for_at_first_use_is_one_lazy_client_per_service() -> None:
    clients = AwsClients()
    images = clients.at_first_use("medical-imaging")
    assert isinstance(images, LazyClient) and clients.at_first_use("medical-imaging") is images
    assert clients.at_first_use("events") is not images
    assert images.meta.service_model.service_name == "medical-imaging"


@pytest.mark.parametrize(
    ("function", "not_built"),
    [("intake", {"medical-imaging", "events"}), ("finalize", {"medical-imaging"})],
)
def test_a_function_builds_what_its_usual_record_needs_and_no_more(
    function: str, not_built: set[str]
) -> None:
    from updater import wiring  # noqa: PLC0415
    from updater.settings import settings_from  # noqa: PLC0415

    built: list[str] = []

    class _Recording(AwsClients):
        def _client(self, service: str, config: Any = None) -> Any:
            built.append(service)
            return super()._client(service) if config is None else super()._client(service, config)

    environment = {
        "LEDGER_TABLE_NAME": "ledger",
        "OUTCOME_BUS_NAME": "outcomes",
        "FAILURES_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/failures",
        "LANE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/lane.fifo",
    }
    getattr(wiring, f"build_{function}")(settings_from(environment), _Recording(), FakeMetrics())
    assert not_built.isdisjoint(built)
    assert {"dynamodb", "sqs"} <= set(built)
