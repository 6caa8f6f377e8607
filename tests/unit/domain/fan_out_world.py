"""A fan-out on fakes: a parent admitted through intake, its children on lanes of their own, the
search and the parents' fan-out records in memory, one virtual clock."""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.unit.domain.fakes import (
    Crash,
    FakeAudit,
    FakeEvents,
    FakeFailures,
    FakeImageSets,
    FakeLane,
    FakeLedger,
    FakeMetrics,
    FakePacer,
    VirtualClock,
)
from tests.unit.updater.factories import DATASTORE_ID, metadata_document
from updater.domain.batch import ChildResult, FanOutPlan, FanOutRecord
from updater.domain.batch_completion import BatchCompletion, BatchRecorder
from updater.domain.callers import CallerDirectory, CallerPolicy, Right
from updater.domain.calls import OpenCall
from updater.domain.fan_out import FanOut, FanOutRules
from updater.domain.intake import Intake, IntakeRules
from updater.domain.lane_message import LaneDelivery, LaneMessage
from updater.domain.ledger import LaneKey
from updater.domain.outcome import UpdateOutcome
from updater.domain.pacing import PacedTurns
from updater.domain.provenance import Origin, Provenance, StagePlace
from updater.domain.recorder import OutcomeRecorder
from updater.domain.selectors import FoundImageSet, SearchCriterion, SearchResult
from updater.domain.settle import SettlePolicy, SettleSchedule
from updater.domain.steps import Done, LaneSteps, StepSettings
from updater.hl7 import Hl7Translation

# The operator has every right; the clerk every right but patientLevel (one image set at a time).
OPERATOR, CLERK = "AIDAFANOUTOPERATOR", "AIDAFANOUTCLERK"
PROVENANCE = Provenance(
    CallerDirectory(
        [
            CallerPolicy(name="operator", sender_ids=(OPERATOR,), may=frozenset(Right)),
            CallerPolicy(name="clerk", sender_ids=(CLERK,), may=frozenset(Right) - {Right.PATIENT_LEVEL}),
        ]
    ),
    StagePlace(account="123456789012", region="us-east-1"),
)


class FakeFanOuts:
    """The fan-out attributes of parents' ledger items, with DynamoDB's conditional semantics."""

    def __init__(self) -> None:
        self.plans: dict[str, FanOutPlan] = {}
        self.sent: set[str] = set()
        self.results: dict[str, dict[str, ChildResult]] = {}
        self.calls: Counter[str] = Counter()
        self.crash_on: str | None = None

    def _hit(self, name: str) -> None:
        self.calls[name] += 1
        if self.crash_on == name:
            self.crash_on = None
            raise Crash(name)

    def _record(self, parent_id: str) -> FanOutRecord:
        return FanOutRecord(
            self.plans[parent_id], parent_id in self.sent, dict(self.results.get(parent_id, {}))
        )

    def record_plan(self, parent_id: str, plan: FanOutPlan) -> FanOutRecord:
        self._hit("record_plan")
        self.plans.setdefault(parent_id, plan)
        return self._record(parent_id)

    def read(self, parent_id: str) -> FanOutRecord | None:
        self._hit("read")
        return self._record(parent_id) if parent_id in self.plans else None

    def mark_sent(self, parent_id: str) -> None:
        self._hit("mark_sent")
        self.sent.add(parent_id)

    def child_ended(self, parent_id: str, result: ChildResult) -> FanOutRecord | None:
        self._hit("child_ended")
        if parent_id not in self.plans:
            return None
        self.results.setdefault(parent_id, {})[result.request_id] = result
        return self._record(parent_id)


@dataclass
class FakeSearch:
    """SearchImageSets over the fake image sets' current Patient/Study identity."""

    images: FakeImageSets
    image_set_ids: list[str]
    primary: bool = True
    calls: int = 0

    def find(self, datastore_id: str, criterion: SearchCriterion, *, at_most: int) -> SearchResult:
        self.calls += 1
        level, keyword = {
            "DICOMPatientId": ("Patient", "PatientID"),
            "DICOMStudyInstanceUID": ("Study", "StudyInstanceUID"),
        }[criterion.attribute]
        found = []
        for image_set_id in self.image_set_ids:
            document = self.images.document(datastore_id, image_set_id)
            if document.get(level, {}).get("DICOM", {}).get(keyword) == criterion.value:
                uid = document["Study"]["DICOM"].get("StudyInstanceUID")
                version = str(self.images.versions(datastore_id, image_set_id))
                found.append(FoundImageSet(image_set_id, version, self.primary, uid))
        return SearchResult(tuple(found[:at_most]), len(found) > at_most)


def image_set_id(index: int) -> str:
    return f"{index:032x}"


@dataclass
class FanOutWorld:
    """`image_sets` image sets of one patient (two studies), each on its own lane."""

    image_sets: int = 3
    max_fan_out: int = 100
    clock: VirtualClock = field(default_factory=VirtualClock)

    def __post_init__(self) -> None:
        self.images = FakeImageSets(self.clock, settle_s=0.5)
        self.ids = [image_set_id(i + 1) for i in range(self.image_sets)]
        for index, image_set in enumerate(self.ids):
            document = copy.deepcopy(metadata_document())
            document["Study"]["DICOM"]["StudyInstanceUID"] = f"1.2.3.{index % 2}"
            self.images.add(DATASTORE_ID, image_set, document)
        self.ledger = FakeLedger()
        self.fan_outs = FakeFanOuts()
        self.events = FakeEvents()
        self.failures = FakeFailures()
        self.metrics = FakeMetrics()
        self.lane = FakeLane()
        self.audit = FakeAudit()
        self.batches = BatchRecorder(self.ledger, self.events, self.failures, self.metrics)
        self.completion = BatchCompletion(self.fan_outs, self.batches, self.ledger)
        self.recorder = OutcomeRecorder(
            self.ledger,
            self.events,
            self.failures,
            self.metrics,
            auditor=self.audit,
            clock=self.clock,
            on_ended=self.completion,
        )
        self.search = FakeSearch(self.images, self.ids)
        self.fan_out = FanOut(
            ledger=self.ledger,
            fan_outs=self.fan_outs,
            search=self.search,
            batches=self.batches,
            completion=self.completion,
            metrics=self.metrics,
            clock=self.clock,
            rules=FanOutRules(self.max_fan_out, 10_240, frozenset()),
        )
        self.intake = Intake(
            ledger=self.ledger,
            lane=self.lane,
            recorder=self.recorder,
            metrics=self.metrics,
            clock=self.clock,
            rules=IntakeRules(payload_limit_bytes=10_240, allowed_datastores=frozenset()),
            provenance=PROVENANCE,
            fan_out=self.fan_out,
            hl7=Hl7Translation(DATASTORE_ID),
        )
        schedule = SettleSchedule(policy=SettlePolicy(jitter=0.0, timeout_s=120.0))
        calls = OpenCall(images=self.images, ledger=self.ledger, clock=self.clock, schedule=schedule)
        self.steps = LaneSteps(
            images=self.images,
            ledger=self.ledger,
            turns=PacedTurns(
                FakePacer(self.clock, rate=50.0, burst=10), self.ledger, self.clock, self.metrics
            ),
            recorder=self.recorder,
            calls=calls,
            clock=self.clock,
            metrics=self.metrics,
            settings=StepSettings(payload_limit_bytes=10_240, inline_settle_s=2.0, settle_notices=False),
        )
        self.deliveries = 0

    def admit(
        self, body: dict[str, Any] | str, content_type: str | None = None, *, sender: str = OPERATOR
    ) -> Any:
        text = body if isinstance(body, str) else json.dumps(body)
        return self.intake.admit(text, Origin.caller_queue(sender), content_type)

    def lane_messages(self) -> list[LaneMessage]:
        """What intake sent to the lanes (taken: each is delivered by `run_lanes`)."""
        messages = [LaneMessage.parse(body) for _, _, body in self.lane.sent]
        self.lane.sent.clear()
        return messages

    def run_lanes(self, messages: list[LaneMessage]) -> dict[str, UpdateOutcome]:
        """Each child's lane until it ends (the lanes of different image sets are independent)."""
        done: dict[str, UpdateOutcome] = {}
        for message in messages:
            for _ in range(50):
                self.deliveries += 1
                delivery = LaneDelivery(f"m{self.deliveries}", message, 1)
                key = LaneKey(message.request.datastore_id, message.request.image_set_id)
                result = self.steps.advance(key, [delivery], self.clock.now() + 60)[delivery.message_id]
                if isinstance(result, Done):
                    done[message.request.request_id] = result.outcome
                    break
                self.clock.advance(max(1.0, result.visibility_s))
            else:
                raise AssertionError("a child's lane did not drain")
        return done

    def batch_events(self) -> list[tuple[str, dict[str, Any]]]:
        return [(t, d) for t, d in self.events.details if t.startswith("ImageSetMetadataUpdate.Batch")]

    def patient(self, image_set: str) -> dict[str, Any]:
        return self.images.document(DATASTORE_ID, image_set)["Patient"]["DICOM"]  # type: ignore[no-any-return]
