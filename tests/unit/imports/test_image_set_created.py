"""HealthImaging's per-image-set `Image Set Created` event: the import rules on the version it names,
keyed like the job's reaction keys them (whichever event comes first applies a rule once), and an
event without usable ids, or for a data store out of scope, ends with its own code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from tests.unit.domain.fakes import FakeEvents, FakeFailures, FakeMetrics
from tests.unit.imports.documents import DATASTORE_ID, IMAGE_SET_ID, metadata_document
from updater.imports.planner import version_request_id
from updater.imports.rules import RuleSet
from updater.imports.runner import ImportReactionRunner

INSTITUTION = {
    "id": "institution",
    "match": {},
    "actions": [{"type": "set", "keyword": "InstitutionName", "value": "EXAMPLE HOSPITAL"}],
}
MARKER = "MRK^CREATED"


class Forwarded:
    def __init__(self) -> None:
        self.requests: list[Mapping[str, Any]] = []

    def send(self, requests: Sequence[Mapping[str, Any]]) -> int:
        self.requests.extend(requests)
        return len(requests)


class Reading:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> Mapping[str, Any]:
        self.calls.append(args)
        return metadata_document()


def created(**detail: Any) -> dict[str, Any]:
    return {
        "source": "aws.medical-imaging",
        "detail-type": "Image Set Created",
        "detail": {
            "datastoreId": DATASTORE_ID,
            "imageSetId": IMAGE_SET_ID,
            "imageSetVersion": "1",
            "imageSetWorkflowStatus": "CREATED",
            **detail,
        },
    }


def runner(reading: Reading, failures: FakeFailures, metrics: FakeMetrics) -> ImportReactionRunner:
    return ImportReactionRunner(
        rules=RuleSet.model_validate({"version": 1, "rules": [INSTITUTION]}),
        allowed_datastores=frozenset({DATASTORE_ID}),
        manifests=None,  # type: ignore[arg-type]  # never read for a per-image-set event
        corrections=None,  # type: ignore[arg-type]
        fetch_metadata=reading,
        events=FakeEvents(),
        failures=failures,
        metrics=metrics,
    )


def test_the_rules_apply_to_the_created_version_under_the_ids_the_job_reaction_uses() -> None:
    reading, forwarded, failures = Reading(), Forwarded(), FakeFailures()
    runner(reading, failures, FakeMetrics()).react(created(), forwarded)
    assert reading.calls == [(DATASTORE_ID, IMAGE_SET_ID, "1")]  # that version, not a later one
    (request,) = forwarded.requests
    assert request["requestId"] == version_request_id(DATASTORE_ID, IMAGE_SET_ID, "1", "rule:institution")
    assert failures.records == []


def test_an_event_of_another_status_is_ignored_and_counted() -> None:
    reading, forwarded, metrics = Reading(), Forwarded(), FakeMetrics()
    runner(reading, FakeFailures(), metrics).react(created(imageSetWorkflowStatus="UPDATED"), forwarded)
    assert forwarded.requests == [] and reading.calls == []
    assert metrics.counts["Ignored:IMAGE_SET_NOT_CREATED"] == 1


@pytest.mark.parametrize(
    ("detail", "code"),
    [
        ({"imageSetId": MARKER}, "IMPORT_EVENT_INVALID"),
        ({"datastoreId": MARKER}, "IMPORT_EVENT_INVALID"),
        ({"datastoreId": "0" * 32}, "EVENT_OUT_OF_SCOPE"),
    ],
)
def test_an_unusable_event_ends_with_its_code_and_never_repeats_what_it_carried(
    detail: dict[str, Any], code: str
) -> None:
    reading, forwarded, failures = Reading(), Forwarded(), FakeFailures()
    runner(reading, failures, FakeMetrics()).react(created(**detail), forwarded)
    assert forwarded.requests == [] and reading.calls == []
    ((_, _, ended, message),) = failures.records
    assert ended == code and MARKER not in message
