"""What a retry sends: the failed request under `<requestId>~retry-<n>`, within the requestId rules."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from updater.domain.errors import FailureCode
from updater.domain.request import REQUEST_ID_PATTERN, parse_update_request
from updater_ops.deployments import OperatorError
from updater_ops.queue_reading import QueuedMessage
from updater_ops.retry import CONTENT_FAILURES, derived_request_id, request_to_send, retry_root

EVENTS = Path(__file__).resolve().parents[3] / "events"
REQUEST_ID = re.compile(REQUEST_ID_PATTERN)


def record(body: str) -> QueuedMessage:
    return QueuedMessage("m-1", body, {"requestId": "r", "failureCode": "UPDATE_FAILED"}, 0, "handle")


def test_a_retry_id_names_its_root_and_number() -> None:
    assert derived_request_id("orders-1", 1) == "orders-1~retry-1"
    assert retry_root("orders-1~retry-7") == "orders-1"
    assert retry_root("orders~retry-x") == "orders~retry-x"


@pytest.mark.parametrize("length", [110, 119, 120, 121, 128])
def test_a_long_root_is_cut_to_fit_yet_stays_apart_from_its_neighbours(length: int) -> None:
    root, neighbour = "a" * length, "a" * (length - 1) + "b"
    for number in (1, 9, 10, 999):
        derived = derived_request_id(root, number)
        assert REQUEST_ID.match(derived) and len(derived) <= 128
        assert derived.endswith(f"~retry-{number}")
        assert derived != derived_request_id(neighbour, number)
        assert derived_request_id(retry_root(derived), number + 1) != derived


def test_the_retry_sends_the_request_under_its_new_id() -> None:
    failure = json.loads((EVENTS / "failures" / "failure-record.json").read_text())
    sent = request_to_send(record(failure["Body"]), "orders-2024-03-14-0002~retry-1")
    assert sent == {**json.loads(failure["Body"]), "requestId": "orders-2024-03-14-0002~retry-1"}
    assert parse_update_request(json.dumps(sent)).request_id == "orders-2024-03-14-0002~retry-1"


def test_a_requests_bus_envelope_is_sent_as_its_request() -> None:
    envelope = (EVENTS / "eventbridge" / "update-requested.json").read_text()
    sent = request_to_send(record(envelope), "x~retry-1")
    assert sent["imageSetId"] == json.loads(envelope)["detail"]["imageSetId"]


def test_unpin_drops_the_version_pin_of_either_shape() -> None:
    cli = (EVENTS / "requests" / "cli-input-update-patient-name.json").read_text()
    sent = request_to_send(record(cli), "x~retry-1", unpin=True)
    assert "latestVersionId" not in sent
    assert parse_update_request(json.dumps(sent)).expected_version_id is None


@pytest.mark.parametrize(
    "body", ["{not json", "[1]", json.dumps({"detail-type": "Import Job Completed", "detail": {}})]
)
def test_a_record_without_a_request_cannot_be_retried(body: str) -> None:
    with pytest.raises(OperatorError):
        request_to_send(record(body), "x~retry-1")


def test_the_content_failures_are_failure_codes() -> None:
    assert set(CONTENT_FAILURES) <= {code.value for code in FailureCode}
