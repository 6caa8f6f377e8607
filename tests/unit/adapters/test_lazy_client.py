"""LazyClient: a client many invocations never need is built at its first use, once."""

from __future__ import annotations

import threading
from typing import Any

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
