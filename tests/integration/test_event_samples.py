"""Every sample under events/ is right: an incoming one ends as its place says when replayed through
the real local stack (`local.invoke`'s replay: each record on a fresh image set), an outgoing one is
checked against its schema (tests/unit/updater/test_schemas.py).

Outside a `bad/` folder a sample succeeds: each record's outcomes are Succeeded (or an import's
summary) and nothing reaches the failures queue or a DLQ. Inside one it fails with the code its
folder's expected.json gives it, on the outcome bus and on the failures queue.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.invoke import Replayer, replay_stack_options
from local.replay_records import read_deliveries
from local.replay_targets import EmbeddedTargets
from local.stack import LocalStack

pytestmark = pytest.mark.integration

EVENTS = Path(__file__).resolve().parents[2] / "events"
INCOMING = ("requests", "eventbridge", "sqs")
OUTGOING = ("outcomes", "failures", "schemas")
SUCCESSES = ("ImageSetMetadataUpdate.Succeeded", "ImageSetMetadataUpdate.BatchSucceeded", "ImportJob.Reacted")
RECORD_TIMEOUT_S = 90


def incoming_samples() -> list[Path]:
    return sorted(
        path
        for folder in INCOMING
        for path in (EVENTS / folder).rglob("*.json")
        if path.name != "expected.json"
    )


def expected_code(sample: Path) -> str | None:
    if sample.parent.name != "bad":
        return None
    return str(json.loads((sample.parent / "expected.json").read_text())[sample.name])


@pytest.fixture(scope="module")
def replayer() -> Iterator[Replayer]:
    with LocalStack(replay_stack_options("dev", None)) as stack:
        assert stack.topology is not None
        yield Replayer(stack.aws, stack.topology, EmbeddedTargets(stack), stack.run_until_idle)


def test_every_file_under_events_is_a_sample_of_a_known_kind() -> None:
    for path in EVENTS.rglob("*"):
        if path.is_file() and path.relative_to(EVENTS).parts[0] == "hl7":
            assert path.suffix == ".hl7", path  # ER7 messages, replayed by the corrections tests
        elif path.is_file():
            assert path.suffix == ".json", path
            assert path.relative_to(EVENTS).parts[0] in INCOMING + OUTGOING, path
    for expectations in EVENTS.rglob("bad/expected.json"):
        listed = set(json.loads(expectations.read_text()))
        assert listed == {p.name for p in expectations.parent.glob("*.json")} - {"expected.json"}, (
            expectations
        )


@pytest.mark.parametrize("sample", incoming_samples(), ids=lambda path: str(path.relative_to(EVENTS)))
def test_each_incoming_sample_ends_as_its_place_says(replayer: Replayer, sample: Path) -> None:
    code = expected_code(sample)
    for delivery in read_deliveries(sample):
        line = replayer.replay(delivery, RECORD_TIMEOUT_S)
        assert line["settled"], line
        assert line["outcomes"], line
        if code is None:
            assert line["errorCodes"] == [] and line["deadLettered"] == [], line
            assert {outcome["detailType"] for outcome in line["outcomes"]} <= set(SUCCESSES), line
        else:
            assert line["errorCodes"] == [code], line
            assert [(d["queue"], d["failureCode"]) for d in line["deadLettered"]] == [("failures", code)], (
                line
            )
