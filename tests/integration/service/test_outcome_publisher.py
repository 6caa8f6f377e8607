"""OutcomePublisher against moto's EventBridge: a coalesced call's outcomes in as few calls as allowed."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from local.moto_stack import MotoServer
from updater.adapters.events import OutcomePublisher
from updater.domain.errors import RetryableServiceError
from updater.domain.outcome import OutcomeStatus, UpdateOutcome


def _outcome(request_id: str) -> UpdateOutcome:
    return UpdateOutcome(
        request_id=request_id,
        datastore_id="d" * 32,
        image_set_id="i" * 32,
        status=OutcomeStatus.SUCCEEDED,
        trigger="sqs",
        from_version_id="1",
        to_version_id="2",
    )


@pytest.fixture
def bus(moto_server: MotoServer) -> tuple[Any, str, list[int]]:
    """A bus of its own; the entries of each PutEvents call, counted."""
    events = moto_server.client("events")
    name = f"outcomes-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=name)
    sizes: list[int] = []
    events.meta.events.register(
        "before-parameter-build.events.PutEvents", lambda params, **_: sizes.append(len(params["Entries"]))
    )
    return events, name, sizes


def test_twelve_outcomes_go_in_two_calls_and_all_are_accepted(bus: tuple[Any, str, list[int]]) -> None:
    events, name, sizes = bus
    ids = [f"r{i}" for i in range(12)]
    assert OutcomePublisher(events, name).publish_many([_outcome(i) for i in ids]) == ids
    assert sizes == [10, 2]


class _Refusing:
    """An EventBridge client whose second call fails: what a partial outage looks like."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.calls = 0

    def put_events(self, **params: Any) -> Any:
        self.calls += 1
        if self.calls == 2:
            raise EndpointConnectionError(endpoint_url="https://events.example")
        return self._real.put_events(**params)


def test_a_failing_second_call_returns_the_first_calls_accepted_ids(
    bus: tuple[Any, str, list[int]],
) -> None:
    events, name, _ = bus
    ids = [f"r{i}" for i in range(15)]
    assert OutcomePublisher(_Refusing(events), name).publish_many([_outcome(i) for i in ids]) == ids[:10]
    with pytest.raises(RetryableServiceError):  # nothing accepted at all: an error, as for one
        refusing = _Refusing(events)
        refusing.calls = 1
        OutcomePublisher(refusing, name).publish_many([_outcome("r0")])
