"""The hostile-input corpus: what each input is, how it reaches the updater, how it must end.

Every hostile input carries a marker (`MRK<4 digits>Z`) in each field that could carry patient
data and that the updater promises not to repeat: values, ids that fail their pattern, keys that
are not DICOM names, event fields, SQS fields. A valid id is the caller's correlation key and is
repeated by design, so a marker never goes where it would make an id valid. Good batch-mates carry
markers in their values too: an attribute value is never repeated either.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from local.moto_stack import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.sqs_lambda_event import rule_stamped

LOCAL_SOURCE = "local.tests"  # an event source the local operator caller owns (local/callers.py)


class Route(StrEnum):
    SQS = "sqs"  # a record of an intake batch, with good batch-mates
    SQS_AFTER_LANE = "sqs_after_lane"  # the same, once the lane has run (reuse of an ended request)
    EVENTBRIDGE = "eventbridge"  # PutEvents, through the stack's rules to the rules queue
    RULES = "rules"  # a record on the rules queue as a stage rule stamps it (or a forged stamp)
    FINALIZE = "finalize"  # a record of the ingest DLQ, to the finalizer
    LANE = "lane"  # a record on the lane that intake never sent, to apply
    DIRECT = "direct"  # a whole invocation event, to one function


class Ending(StrEnum):
    """How an input's ending is observed."""

    FAILURE_RECORD = "failure_record"  # a failure record (body holds the marker) and its outcome
    IGNORED = "ignored"  # counted and logged with its reason, nothing to record
    UNANSWERABLE = "unanswerable"  # an invocation event without answerable records
    IMPORT_SUMMARY = "import_summary"  # an ImportJob.Reacted event


@dataclass(frozen=True)
class Hostile:
    name: str
    marker: str
    code: str  # a FailureCode, an ignored reason or an unanswerable reason
    route: Route
    body: str = ""  # SQS body (SQS, FINALIZE, LANE routes)
    event: Any = None  # PutEvents entry (EVENTBRIDGE) or invocation event (DIRECT)
    function: str = "ingest"  # DIRECT: the queue role whose function is invoked
    record: dict[str, Any] = field(default_factory=dict)  # overrides of the SQS record's fields
    ending: Ending = Ending.FAILURE_RECORD
    unanswerable: int = 1  # UNANSWERABLE: records counted
    # A failure record whose body cannot hold the marker (a body that is not a string) is found by this.
    record_body: str | None = None


@dataclass(frozen=True)
class Good:
    """A batch-mate that must succeed, whatever its batch holds."""

    request_id: str
    body: str
    route: Route = Route.SQS


Sent = Hostile | Good


class Markers:
    def __init__(self) -> None:
        self._next = 0

    def __call__(self) -> str:
        self._next += 1
        return f"MRK{self._next:04d}Z"


@dataclass(frozen=True)
class Target:
    datastore_id: str
    image_set_id: str
    series_uid: str  # a series the image set holds (for an instance it does not)
    trusted_rules: str = "{}"  # the functions' TRUSTED_RULES: rule ARN -> role


def update(target: Target, request_id: str, document: Any, **fields: Any) -> dict[str, Any]:
    return {
        "datastoreId": target.datastore_id,
        "imageSetId": target.image_set_id,
        "requestId": request_id,
        "DICOMUpdates": {"updatableAttributes": document},
    } | fields


def study(**dicom: Any) -> dict[str, Any]:
    return {"SchemaVersion": 1.1, "Study": {"DICOM": dicom}}


def patient(**dicom: Any) -> dict[str, Any]:
    return {"SchemaVersion": 1.1, "Patient": {"DICOM": dicom}}


def good(target: Target, request_id: str, marker: str, route: Route = Route.SQS) -> Good:
    document = update(target, request_id, study(StudyDescription=marker))
    if route is Route.RULES:  # as the requests rule delivers a local caller's PutEvents
        requested = bus_envelope("ImageSetMetadataUpdate.Requested", document, source=LOCAL_SOURCE)
        return Good(request_id, rule_stamped(requested, target.trusted_rules, "requests"), route)
    return Good(request_id, json.dumps(document), route)


def bus_envelope(detail_type: str, detail: Any, source: str, **fields: Any) -> dict[str, Any]:
    """An EventBridge event as a rule delivers it (this account and region: moto's)."""
    return {
        "version": "0",
        "id": "4b1ef5ab-0000-4000-8000-000000000000",
        "detail-type": detail_type,
        "source": source,
        "account": LOCAL_ACCOUNT_ID,
        "time": "2026-01-01T00:00:00Z",
        "region": LOCAL_REGION,
        "resources": [],
        "detail": detail,
    } | fields


def hostile_inputs(sent: list[Sent]) -> list[Hostile]:
    return [s for s in sent if isinstance(s, Hostile)]


def code_table(sent: list[Sent]) -> list[tuple[str, int]]:
    """(code, inputs) of the corpus, most frequent first: the closing note's table."""
    return Counter(h.code for h in hostile_inputs(sent)).most_common()
