"""A lane on the virtual clock: the domain's steps wired to fakes, and a FIFO group that redelivers
what waits, the way SQS does after ChangeMessageVisibility."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from tests.unit.domain.fakes import (
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
from tests.unit.updater.factories import DATASTORE_ID, IMAGE_SET_ID, metadata_document
from updater.domain.callers import CallerDirectory, CallerPolicy, Right
from updater.domain.calls import OpenCall
from updater.domain.finalize import Finalizer
from updater.domain.intake import Admitted, Intake, IntakeRules
from updater.domain.lane_message import LaneDelivery, LaneMessage
from updater.domain.ledger import LaneKey
from updater.domain.notices import SettleNotice, SettleNotices
from updater.domain.outcome import UpdateOutcome
from updater.domain.pacing import PacedTurns
from updater.domain.primary_rules import PrimaryImageSetPolicy, PrimaryRules
from updater.domain.provenance import Origin, Provenance, StagePlace
from updater.domain.recorder import OutcomeRecorder
from updater.domain.request import UpdateRequest, parse_update_request
from updater.domain.settle import SettlePolicy, SettleSchedule
from updater.domain.step_results import settle_wait
from updater.domain.steps import Done, LaneSteps, StepResult, StepSettings, Wait

LANE = LaneKey(DATASTORE_ID, IMAGE_SET_ID)
_ids = itertools.count(1)


# Every lane test sends as one caller with every right (domain.callers is tested on its own).
TEST_SENDER = "AIDATESTCALLER"
TEST_PROVENANCE = Provenance(
    CallerDirectory([CallerPolicy(name="tests", sender_ids=(TEST_SENDER,), may=frozenset(Right))]),
    StagePlace(account="123456789012", region="us-east-1"),
)
CALLER_ORIGIN = Origin.caller_queue(TEST_SENDER)


def patient_update(request_id: str, **dicom: Any) -> UpdateRequest:
    return parse_update_request(
        {
            "datastoreId": DATASTORE_ID,
            "imageSetId": IMAGE_SET_ID,
            "requestId": request_id,
            "DICOMUpdates": {"updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": dicom}}},
        }
    )


def request(request_id: str, **fields: Any) -> UpdateRequest:
    return parse_update_request(
        {"datastoreId": DATASTORE_ID, "imageSetId": IMAGE_SET_ID, "requestId": request_id, **fields}
    )


@dataclass
class Queued:
    message: LaneMessage
    message_id: str
    receives: int = 0
    visible_at: float = 0.0


@dataclass
class LaneWorld:
    settle_s: float = 1.0
    rate: float = 10.0
    burst: int = 1
    inline_settle_s: float = 2.0
    # HealthImaging's settle events: off, the lane polls; on, the world delivers each version's
    # event at its settle time (`notice_lost`: those it drops, best effort as EventBridge is).
    notices: bool = False
    notice_lost: frozenset[str] = frozenset()
    primary_rules: str = "learn"
    provenance: Provenance = TEST_PROVENANCE
    clock: VirtualClock = field(default_factory=VirtualClock)

    def __post_init__(self) -> None:
        self.images = FakeImageSets(self.clock, settle_s=self.settle_s)
        self.images.add(DATASTORE_ID, IMAGE_SET_ID, metadata_document())
        self.ledger = FakeLedger()
        self.pacer = FakePacer(self.clock, rate=self.rate, burst=self.burst)
        self.events = FakeEvents()
        self.failures = FakeFailures()
        self.metrics = FakeMetrics()
        self.lane = FakeLane()
        self.audit = FakeAudit()
        self.recorder = OutcomeRecorder(
            self.ledger, self.events, self.failures, self.metrics, auditor=self.audit, clock=self.clock
        )
        schedule = SettleSchedule(policy=SettlePolicy(jitter=0.0, timeout_s=120.0))
        self.calls = OpenCall(images=self.images, ledger=self.ledger, clock=self.clock, schedule=schedule)
        self.steps = LaneSteps(
            images=self.images,
            ledger=self.ledger,
            turns=PacedTurns(self.pacer, self.ledger, self.clock, self.metrics),
            recorder=self.recorder,
            calls=self.calls,
            clock=self.clock,
            metrics=self.metrics,
            primary=PrimaryImageSetPolicy(PrimaryRules(self.primary_rules)),
            settings=StepSettings(
                payload_limit_bytes=10_240, inline_settle_s=self.inline_settle_s, settle_notices=self.notices
            ),
        )
        self.settle_notices = SettleNotices(self.ledger, self, self.metrics, self.clock)
        self.noticed: set[str] = set()
        self.intake = Intake(
            ledger=self.ledger,
            lane=self.lane,
            recorder=self.recorder,
            metrics=self.metrics,
            clock=self.clock,
            rules=IntakeRules(payload_limit_bytes=10_240, allowed_datastores=frozenset()),
            provenance=self.provenance,
        )
        self.finalizer = Finalizer(
            ledger=self.ledger,
            calls=self.calls,
            recorder=self.recorder,
            intake=self.intake,
            metrics=self.metrics,
            clock=self.clock,
        )
        self.queue: list[Queued] = []

    # -- the lane, as SQS runs a FIFO group --------------------------------------------------------
    def submit(self, *requests: UpdateRequest, trigger: str = "sqs") -> None:
        """Through intake (ledger entry opened), onto the lane."""
        for update in requests:
            body = _body(update)
            self.intake.admit(body, CALLER_ORIGIN)
        self._take_sent()

    def admit(self, body: str) -> Admitted:
        """One record on a caller queue, sent by the test caller (every right)."""
        return self.intake.admit(body, CALLER_ORIGIN)

    def _take_sent(self) -> None:
        for _group, _dedup, body in self.lane.sent:
            self.queue.append(Queued(LaneMessage.parse(body), f"m{next(_ids)}"))
        self.lane.sent.clear()

    def deliver(self, count: int | None = None, *, deadline_in_s: float = 60.0) -> dict[str, StepResult]:
        """One receive of up to `count` visible messages of the group (in order), one step."""
        now = self.clock.now()
        batch = list(itertools.takewhile(lambda q: q.visible_at <= now, self.queue))[: count or 10]
        if not batch:  # FIFO: the group is blocked while its head is hidden
            return {}
        deliveries = []
        for queued in batch:
            queued.receives += 1
            deliveries.append(LaneDelivery(queued.message_id, queued.message, queued.receives))
        results = self.steps.advance(LANE, deliveries, now + deadline_in_s)
        by_id = {q.message_id: q for q in batch}
        outcome_by_request: dict[str, StepResult] = {}
        for message_id, result in results.items():
            queued = by_id[message_id]
            outcome_by_request[queued.message.request.request_id] = result
            if isinstance(result, Done):
                self.queue.remove(queued)
            else:
                queued.visible_at = self.clock.now() + result.visibility_s
        wait = settle_wait(results.values())
        if wait is not None:  # as the apply handler does, after hiding the messages
            waiting = [m for m, r in results.items() if isinstance(r, Wait)]
            if self.steps.await_notice(LANE, wait, waiting):
                self.wake(waiting)
        return outcome_by_request

    def wake(self, receipt_handles: Any) -> None:
        """The Waker of the settle notices: the message id stands for the receipt handle."""
        for queued in self.queue:
            if queued.message_id in receipt_handles:
                queued.visible_at = min(queued.visible_at, self.clock.now())

    def _notices_until(self, until: float) -> None:
        """HealthImaging publishes each version's event when it settles."""
        if not self.notices:
            return
        for version, settles_at, status in self.images.settle_times(DATASTORE_ID, IMAGE_SET_ID):
            if version in self.noticed or settles_at > until:
                continue
            self.noticed.add(version)
            if version not in self.notice_lost:
                self.clock.t = max(self.clock.t, settles_at)
                self.settle_notices.receive(SettleNotice(LANE, version, status))

    def run(self, *, max_deliveries: int = 200, batch: int | None = None) -> dict[str, UpdateOutcome]:
        """Deliver until the group is empty, advancing the clock over every wait."""
        done: dict[str, UpdateOutcome] = {}
        for _ in range(max_deliveries):
            if not self.queue:
                return done
            results = self.deliver(batch)
            for request_id, result in results.items():
                if isinstance(result, Done):
                    done[request_id] = result.outcome
            if not results or all(isinstance(r, Wait) for r in results.values()):
                next_visible = min(q.visible_at for q in self.queue)
                self._notices_until(next_visible)
                self.clock.t = max(self.clock.t, min(q.visible_at for q in self.queue))
        raise AssertionError(f"the lane did not drain: {len(self.queue)} left")

    def versions(self) -> int:
        return self.images.versions(DATASTORE_ID, IMAGE_SET_ID)

    def patient(self, version: str | None = None) -> dict[str, Any]:
        return self.images.document(DATASTORE_ID, IMAGE_SET_ID, version)["Patient"]["DICOM"]  # type: ignore[no-any-return]


def _body(update: UpdateRequest) -> str:
    import json  # noqa: PLC0415

    return json.dumps(update.wire_dict())
