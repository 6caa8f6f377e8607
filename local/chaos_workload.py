"""The chaos soak's traffic: seeded requests across many image sets, each with its own way in.

Every value a request writes is a sentinel unique to that request (``PHI`` + ten capital letters),
so the invariant checks can search logs, metrics and events for any value that escaped. Bad inputs
carry sentinels too, and the failure code the contract promises for them.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# (level, keyword): plain string VRs at Patient/Study level; SH keeps sentinels to 16 characters.
ATTRIBUTES = (
    ("Patient", "PatientComments"), ("Patient", "EthnicGroup"), ("Study", "StudyDescription"),
    ("Study", "AccessionNumber"), ("Study", "AdditionalPatientHistory"), ("Study", "Occupation"),
    ("Study", "MedicalAlerts"), ("Study", "Allergies"),
)  # fmt: skip
OTHER_DATASTORE_ID = "0" * 32  # well formed, but not a data store this deployment may touch
MISSING_IMAGE_SET_ID = "f" * 32


class Route(StrEnum):
    """How a request reaches the updater."""

    SQS = "sqs"
    SQS_TWICE = "sqs_twice"  # the same body twice: a redelivery the queue cannot tell apart
    BOTH_TRIGGERS = "both_triggers"  # the ingest queue and PutEvents on the requests bus
    EVENTBRIDGE = "eventbridge"
    FIFO = "fifo"


class Kind(StrEnum):
    UPDATE = "update"
    NOOP = "noop"  # sets a value the image set already holds
    DRY_RUN = "dry_run"
    REVERT = "revert"
    PINNED = "pinned"  # expectedVersionId 1: succeeds or fails with VERSION_CONFLICT
    BAD = "bad"


@dataclass(frozen=True)
class ImageSetTarget:
    image_set_id: str
    patient_id: str  # the imported PatientID: writing it again is a no-op


@dataclass(frozen=True)
class ChaosRequest:
    key: str  # the requestId the ledger and outcome carry
    kind: Kind
    route: Route
    body: str
    image_set_id: str | None
    sentinels: tuple[str, ...]
    expected_code: str | None = None  # bad inputs: the FailureCode the contract promises
    delay_s: int = 0  # delay of the second copy (SQS_TWICE)


@dataclass
class Workload:
    requests: list[ChaosRequest] = field(default_factory=list)
    send_order: list[str] = field(default_factory=list)  # request keys as the sender sent them

    def by_key(self) -> dict[str, ChaosRequest]:
        return {r.key: r for r in self.requests}

    def sentinels(self) -> set[str]:
        return {s for r in self.requests for s in r.sentinels}

    def counts(self) -> dict[str, int]:
        kinds = Counter(f"kind:{r.kind}" for r in self.requests)
        routes = Counter(f"route:{r.route}" for r in self.requests)
        return dict(sorted((kinds + routes).items()))


ROUTE_WEIGHTS = {
    Route.SQS: 50,
    Route.SQS_TWICE: 15,
    Route.BOTH_TRIGGERS: 15,
    Route.EVENTBRIDGE: 10,
    Route.FIFO: 10,
}
KIND_WEIGHTS = {Kind.UPDATE: 74, Kind.NOOP: 5, Kind.DRY_RUN: 3, Kind.REVERT: 2, Kind.PINNED: 4, Kind.BAD: 12}


class WorkloadBuilder:
    def __init__(
        self,
        rng: random.Random,
        datastore_id: str,
        targets: list[ImageSetTarget],
        *,
        run: str,
        body_key: Callable[[str], str],
    ) -> None:
        """`body_key` is the updater's own key for a body too broken to carry a requestId."""
        if not targets:
            raise ValueError("the soak needs at least one image set")
        self._body_key = body_key
        self._rng = rng
        self._datastore_id = datastore_id
        self._targets = targets
        self._run = run
        # A few hot image sets take a quarter of the traffic: concurrent updates to one image set.
        self._hot = targets[: max(1, len(targets) // 10)]
        self._bad_index = 0

    def build(self, count: int) -> Workload:
        return Workload([self._one(index) for index in range(count)])

    def sentinel(self) -> str:
        return "PHI" + "".join(self._rng.choices(string.ascii_uppercase, k=10))

    def _choose(self, weights: dict[Any, int]) -> Any:
        return self._rng.choices(list(weights), weights=list(weights.values()))[0]

    def _one(self, index: int) -> ChaosRequest:
        kind: Kind = self._choose(KIND_WEIGHTS)
        route: Route = self._choose(ROUTE_WEIGHTS)
        key = f"chaos-{self._run}-{index:05d}"
        if kind is Kind.BAD:
            return self._bad(key, route)
        target = self._rng.choice(self._hot if self._rng.random() < 0.25 else self._targets)
        body: dict[str, Any] = {
            "datastoreId": self._datastore_id,
            "imageSetId": target.image_set_id,
            "requestId": key,
        }
        sentinels: tuple[str, ...] = ()
        if kind is Kind.REVERT:
            body["revertToVersionId"] = "1"
        elif kind is Kind.NOOP:
            body["DICOMUpdates"] = {
                "updatableAttributes": _document({("Patient", "PatientID"): target.patient_id})
            }
        else:
            chosen = self._rng.sample(ATTRIBUTES, k=self._rng.choice((1, 1, 2)))
            values = {attribute: self.sentinel() for attribute in chosen}
            sentinels = tuple(values.values())
            document = _document(values)
            # Documents arrive as JSON objects or as JSON text; both forms are in the contract.
            updates = json.dumps(document) if self._rng.random() < 0.3 else document
            body["DICOMUpdates"] = {"updatableAttributes": updates}
            body["dryRun"] = kind is Kind.DRY_RUN
            if kind is Kind.PINNED:
                body["expectedVersionId"] = "1"
        delay = self._rng.randint(0, 4) if route is Route.SQS_TWICE else 0
        return ChaosRequest(key, kind, route, json.dumps(body), target.image_set_id, sentinels, delay_s=delay)

    def _bad(self, key: str, route: Route) -> ChaosRequest:
        """One of the catalogue's bad inputs, in turn, each with the code the contract names."""
        builders = BAD_INPUTS
        name = builders[self._bad_index % len(builders)]
        self._bad_index += 1
        value = self.sentinel()
        target = self._rng.choice(self._targets).image_set_id
        body, code, own_key = _bad_body(name, key, value, self._datastore_id, target)
        if own_key is None:  # no requestId to key it by (not a JSON object, or not a request)
            key, route = self._body_key(body), Route.SQS
        else:
            key = own_key
            route = Route.SQS if route is Route.FIFO else route
        return ChaosRequest(key, Kind.BAD, route, body, target, (value,), expected_code=code)


def _document(values: dict[tuple[str, str], str]) -> dict[str, Any]:
    document: dict[str, Any] = {"SchemaVersion": 1.1}
    for (level, keyword), value in values.items():
        document.setdefault(level, {"DICOM": {}})["DICOM"][keyword] = value
    return document


BAD_INPUTS = (
    "invalid_json", "not_object", "unknown_field", "bad_image_set_id", "datastore_not_allowed",
    "unknown_keyword", "wrong_level", "invalid_value_for_vr", "image_set_missing", "series_missing",
    "revert_version_missing", "wrong_type", "duplicate_key", "unknown_envelope", "request_id_as_name",
)  # fmt: skip


def invalid_id_key(value: str) -> str:
    """How the updater reports an id that fails its pattern (the outcome schema's invalid form):
    a caller correlates by computing it from what it sent."""
    return f"invalid:sha256:{hashlib.sha256(value.encode()).hexdigest()[:12]}:len{len(value)}"


def _bad_body(
    name: str, key: str, value: str, datastore_id: str, image_set_id: str
) -> tuple[str, str, str | None]:
    """(body, expected failure code, the key its outcome is published under; None: its content's)."""
    if name == "invalid_json":
        return '{"requestId": "' + key + '", "DICOMUpdates": {"Patient": "' + value, "INVALID_JSON", None
    if name == "not_object":
        return json.dumps([key, value]), "PAYLOAD_NOT_OBJECT", None
    base: dict[str, Any] = {"datastoreId": datastore_id, "imageSetId": image_set_id, "requestId": key}
    patient = {("Patient", "PatientComments"): value}
    if name == "duplicate_key":  # which requestId is meant cannot be told: keyed by the content
        return (
            json.dumps(base | {"DICOMUpdates": _updates(patient)})[:-1] + f', "requestId": "{value}"}}',
            "DUPLICATE_KEY",
            None,
        )
    if name == "unknown_envelope":
        envelope = {"detail-type": value, "source": value, "detail": {"requestId": key, "note": value}}
        return json.dumps(envelope), "UNKNOWN_ENVELOPE", None
    if name == "request_id_as_name":  # a value pasted as the requestId: reported by fingerprint
        named = f"{value} {key}"
        body = base | {"requestId": named, "DICOMUpdates": _updates(patient)}
        return json.dumps(body), "INVALID_REQUEST_ID", invalid_id_key(named)
    code_and_body: dict[str, tuple[str, dict[str, Any]]] = {
        "unknown_field": ("UNKNOWN_FIELD", base | {"dryrun": True, "DICOMUpdates": _updates(patient)}),
        "bad_image_set_id": (
            "INVALID_IMAGE_SET_ID",
            base | {"imageSetId": "NOT-AN-ID", "DICOMUpdates": _updates(patient)},
        ),
        "datastore_not_allowed": (
            "DATASTORE_NOT_ALLOWED",
            base | {"datastoreId": OTHER_DATASTORE_ID, "DICOMUpdates": _updates(patient)},
        ),
        "unknown_keyword": (
            "UNKNOWN_KEYWORD",
            base | {"DICOMUpdates": _updates({("Patient", "PatientNam"): value})},
        ),
        "wrong_level": (
            "WRONG_LEVEL",
            base | {"DICOMUpdates": _updates({("Study", "PatientComments"): value})},
        ),
        "invalid_value_for_vr": (
            "INVALID_VALUE_FOR_VR",
            base | {"DICOMUpdates": _updates({("Study", "StudyDate"): value})},
        ),
        "image_set_missing": (
            "IMAGE_SET_NOT_FOUND",
            base | {"imageSetId": MISSING_IMAGE_SET_ID, "DICOMUpdates": _updates(patient)},
        ),
        "series_missing": ("SERIES_NOT_IN_IMAGE_SET", base | {"DICOMUpdates": _series_update(value)}),
        "revert_version_missing": ("REVERT_VERSION_NOT_FOUND", base | {"revertToVersionId": "999"}),
        "wrong_type": ("SCHEMA_VIOLATION", base | {"force": value, "DICOMUpdates": _updates(patient)}),
    }
    code, body = code_and_body[name]
    return json.dumps(body), code, key


def _updates(values: dict[tuple[str, str], str]) -> dict[str, Any]:
    return {"updatableAttributes": _document(values)}


def _series_update(value: str) -> dict[str, Any]:
    series = {"1.2.840.99999.1": {"DICOM": {"SeriesDescription": value}}}
    return {"updatableAttributes": {"SchemaVersion": 1.1, "Study": {"Series": series}}}
