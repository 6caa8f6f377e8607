"""Builds each function's collaborators once per cold start: boto3 clients, adapters, domain services.

    build_intake    ingest queues  -> Intake (+ the import reaction)
    build_apply     lane           -> LaneSteps, the only caller of UpdateImageSetMetadata
    build_finalize  redrive DLQs   -> Finalizer (+ the import reaction's give-up)

Tests pass clients pointed at the emulator or moto's server; nothing here is patched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from updater.adapters.audit_store import S3AuditStore
from updater.adapters.events import OutcomePublisher
from updater.adapters.failures import FailureQueue
from updater.adapters.fan_out_table import FanOutTable
from updater.adapters.healthimaging import HealthImagingGateway
from updater.adapters.lane import LaneQueue, QueueVisibility
from updater.adapters.ledger import LedgerTable
from updater.adapters.read_budget import ReadBudget, read_rates
from updater.adapters.sdk import AwsClients
from updater.domain.batch_completion import BatchCompletion, BatchRecorder
from updater.domain.calls import OpenCall
from updater.domain.ports import MetricsSink
from updater.domain.recorder import OutcomeRecorder
from updater.domain.settle import SettlePolicy, SettleSchedule
from updater.settings import UpdaterSettings

# Each builder imports what only its function uses: a cold start loads its own function's code.
if TYPE_CHECKING:
    from updater.domain.fan_out import FanOut
    from updater.domain.finalize import Finalizer
    from updater.domain.intake import Intake
    from updater.domain.notices import SettleNotices
    from updater.domain.provenance import Provenance, RuleRole
    from updater.domain.steps import LaneSteps
    from updater.hl7 import Hl7Translation
    from updater.imports.runner import ImportReactionRunner


class SystemClock:
    """The domain's Clock: the system's own functions, with nothing of ours in between."""

    now = staticmethod(time.time)
    sleep = staticmethod(time.sleep)  # callers never pass a negative time


@dataclass(frozen=True)
class IntakeRuntime:
    settings: UpdaterSettings
    intake: Intake
    queues: QueueVisibility
    lane: LaneQueue  # a batch's requests are forwarded together (LaneQueue.batch)
    rules: Mapping[str, RuleRole]  # the stage's rules by ARN (TRUSTED_RULES)

    @property
    def rule_queue_arns(self) -> frozenset[str]:
        return self.settings.rule_queue_arns


@dataclass(frozen=True)
class ApplyRuntime:
    settings: UpdaterSettings
    steps: LaneSteps
    recorder: OutcomeRecorder
    queues: QueueVisibility
    clock: SystemClock


@dataclass(frozen=True)
class FinalizeRuntime:
    settings: UpdaterSettings
    finalizer: Finalizer
    imports: ImportReactions
    rules: Mapping[str, RuleRole]

    @property
    def rule_queue_arns(self) -> frozenset[str]:
        return self.settings.rule_queue_arns


@dataclass(frozen=True)
class _Common:
    ledger: LedgerTable
    recorder: OutcomeRecorder
    gateway: HealthImagingGateway
    publisher: OutcomePublisher
    failures: FailureQueue
    clock: SystemClock
    batches: BatchRecorder
    fan_outs: FanOutTable
    completion: BatchCompletion


def _common(
    settings: UpdaterSettings,
    clients: AwsClients,
    metrics: MetricsSink,
    *,
    updates: bool = False,
    images: Any = None,
    events: Any = None,
) -> _Common:
    """`images`, `events`: the HealthImaging and EventBridge clients when not the eager ones."""
    ledger = LedgerTable(clients.dynamodb, settings.ledger_table_name, settings.ledger_ttl_days)
    publisher = OutcomePublisher(events or clients.events, settings.outcome_bus_name)
    failures = FailureQueue(clients.sqs, settings.failures_queue_url)
    gateway = HealthImagingGateway(
        images or clients.medical_imaging,
        on_retries=lambda _operation, retries: metrics.count("SdkRetries", retries),
        # Only apply updates image sets: the others never build that client.
        update_client=clients.medical_imaging_updates if updates else None,
        read_budget=ReadBudget(
            read_rates(settings.read_quotas, settings.read_quota_share, settings.function_concurrency)
        ),
    )
    clock = SystemClock()
    batches = BatchRecorder(ledger, publisher, failures, metrics)
    fan_outs = FanOutTable(clients.dynamodb, settings.ledger_table_name)
    # Every function ends requests; a fan-out's child that ends counts on its parent. Every
    # function that ends requests writes their audit records (no bucket: unit and local runs
    # without a trail).
    completion = BatchCompletion(fan_outs, batches, ledger)
    auditor = S3AuditStore(clients.s3, settings.audit_bucket) if settings.audit_bucket else None
    recorder = OutcomeRecorder(
        ledger, publisher, failures, metrics, auditor=auditor, clock=clock, on_ended=completion
    )
    return _Common(ledger, recorder, gateway, publisher, failures, clock, batches, fan_outs, completion)


class ImportReactions:
    """The import reaction, built at the first import event: its rules, models and S3 readers are a
    good part of a cold start that most invocations never need. (The stack checks the rules file at
    synth, so a broken one does not wait for the first import to show.)"""

    def __init__(self, build: Callable[[], ImportReactionRunner]) -> None:
        self._build = build
        self._runner: ImportReactionRunner | None = None

    def _built(self) -> ImportReactionRunner:
        if self._runner is None:
            self._runner = self._build()
        return self._runner

    def react(self, envelope: Mapping[str, Any], forward: Any) -> None:
        self._built().react(envelope, forward)

    def give_up(self, envelope: Mapping[str, Any]) -> None:
        self._built().give_up(envelope)


def _imports(
    settings: UpdaterSettings, clients: AwsClients, metrics: MetricsSink, common: _Common
) -> ImportReactions:
    def build() -> ImportReactionRunner:
        from updater.imports.corrections import CorrectionsReader  # noqa: PLC0415
        from updater.imports.manifests import ImportManifestReader  # noqa: PLC0415
        from updater.imports.rules import RuleSet, load_rules  # noqa: PLC0415
        from updater.imports.runner import ImportReactionRunner  # noqa: PLC0415

        rules = load_rules(settings.import_rules_path) if settings.import_rules_path else RuleSet(version=1)
        return ImportReactionRunner(
            rules=rules,
            allowed_datastores=settings.allowed_datastores,
            manifests=ImportManifestReader(clients.s3),
            corrections=CorrectionsReader(clients.s3),
            fetch_metadata=common.gateway.get_metadata,
            events=common.publisher,
            failures=common.failures,
            metrics=metrics,
        )

    return ImportReactions(build)


def _intake(
    settings: UpdaterSettings, clients: AwsClients, metrics: MetricsSink, common: _Common, lane: LaneQueue
) -> Intake:
    from updater.domain.intake import Intake, IntakeRules  # noqa: PLC0415

    return Intake(
        ledger=common.ledger,
        lane=lane,
        recorder=common.recorder,
        metrics=metrics,
        clock=common.clock,
        rules=IntakeRules(settings.payload_limit_bytes, settings.allowed_datastores),
        provenance=_provenance(settings, clients, common),
        imports=_imports(settings, clients, metrics, common),
        notices=_notices(settings, common, lane, metrics),
        fan_out=_fan_out(settings, metrics, common),
        hl7=_hl7(settings),
    )


def _fan_out(settings: UpdaterSettings, metrics: MetricsSink, common: _Common) -> FanOut:
    from updater.adapters.image_set_search import ImageSetFinder  # noqa: PLC0415
    from updater.domain.fan_out import FanOut, FanOutRules  # noqa: PLC0415

    return FanOut(
        ledger=common.ledger,
        fan_outs=common.fan_outs,
        search=ImageSetFinder(common.gateway),
        batches=common.batches,
        completion=common.completion,
        metrics=metrics,
        clock=common.clock,
        rules=FanOutRules(settings.max_fan_out, settings.payload_limit_bytes, settings.allowed_datastores),
    )


def _hl7(settings: UpdaterSettings) -> Hl7Translation:
    """Built at the first HL7 message: the parser is cold-start weight most functions never use."""
    from updater.hl7 import Hl7Translation  # noqa: PLC0415

    return Hl7Translation(settings.hl7_datastore)


def _trusted_rules(settings: UpdaterSettings) -> Mapping[str, RuleRole]:
    # Here, not at the top: apply never judges provenance, and the module is most of 10 ms to import.
    from updater.domain.provenance import trusted_rules  # noqa: PLC0415

    return trusted_rules(settings.trusted_rules)


def _provenance(settings: UpdaterSettings, clients: AwsClients, common: _Common) -> Provenance:
    """The stage's callers, recognised by SenderId (IAM asked for the ids of its own account's
    principals at the first unknown sender) or by their requests-bus source."""
    from updater.adapters.principals import IamPrincipalIds  # noqa: PLC0415
    from updater.domain.callers import CallerDirectory, Right, parse_policies  # noqa: PLC0415
    from updater.domain.provenance import Provenance, StagePlace  # noqa: PLC0415

    directory = CallerDirectory(
        parse_policies(settings.callers),
        principal_ids=IamPrincipalIds(clients.iam, settings.stage_account),
        clock=common.clock,
        import_rights=frozenset(Right(r) for r in settings.import_caller_rights.split(",") if r),
    )
    return Provenance(directory, StagePlace(settings.stage_account, settings.stage_region))


def _notices(
    settings: UpdaterSettings, common: _Common, lane: LaneQueue, metrics: MetricsSink
) -> SettleNotices | None:
    from updater.domain.notices import SettleNotices  # noqa: PLC0415

    return SettleNotices(common.ledger, lane, metrics, common.clock) if settings.settle_notices else None


def _open_call(settings: UpdaterSettings, common: _Common) -> OpenCall:
    schedule = SettleSchedule(policy=SettlePolicy(timeout_s=settings.settle_timeout_s))
    return OpenCall(images=common.gateway, ledger=common.ledger, clock=common.clock, schedule=schedule)


def build_intake(settings: UpdaterSettings, clients: AwsClients, metrics: MetricsSink) -> IntakeRuntime:
    # Intake's usual record (a request forwarded to its lane, a settle notice recorded) neither
    # reads HealthImaging nor publishes an outcome: those two clients are built when first used.
    common = _common(
        settings,
        clients,
        metrics,
        images=clients.at_first_use("medical-imaging"),
        events=clients.at_first_use("events"),
    )
    lane = LaneQueue(clients.sqs, settings.lane_queue_url)
    return IntakeRuntime(
        settings,
        _intake(settings, clients, metrics, common, lane),
        QueueVisibility(clients.sqs),
        lane,
        _trusted_rules(settings),
    )


def build_apply(settings: UpdaterSettings, clients: AwsClients, metrics: MetricsSink) -> ApplyRuntime:
    from updater.adapters.pacer import UpdatePacer  # noqa: PLC0415
    from updater.domain.pacing import PacedTurns  # noqa: PLC0415
    from updater.domain.primary_rules import PrimaryImageSetPolicy  # noqa: PLC0415
    from updater.domain.steps import LaneSteps, StepSettings  # noqa: PLC0415

    common = _common(settings, clients, metrics, updates=True)
    pacer = UpdatePacer(
        clients.dynamodb,
        settings.ledger_table_name,
        rate_per_second=settings.update_rate_per_second,
        burst=settings.update_burst,
        now=common.clock.now,
        margin_s=settings.update_pacing_margin_ms / 1000,
    )
    turns = PacedTurns(
        pacer,
        common.ledger,
        common.clock,
        metrics,
        # Half the margin: a call that late still leaves half the margin before the next slot.
        late_tolerance_s=settings.update_pacing_margin_ms / 2000,
    )
    steps = LaneSteps(
        images=common.gateway,
        ledger=common.ledger,
        turns=turns,
        recorder=common.recorder,
        calls=_open_call(settings, common),
        clock=common.clock,
        metrics=metrics,
        primary=PrimaryImageSetPolicy(settings.primary_image_set_rules),
        settings=StepSettings(
            payload_limit_bytes=settings.payload_limit_bytes,
            inline_settle_s=settings.settle_inline_ms / 1000,
            reserve_s=settings.time_reserve_ms / 1000,
            settle_notices=settings.settle_notices,
        ),
    )
    return ApplyRuntime(settings, steps, common.recorder, QueueVisibility(clients.sqs), common.clock)


def build_finalize(settings: UpdaterSettings, clients: AwsClients, metrics: MetricsSink) -> FinalizeRuntime:
    from updater.domain.finalize import Finalizer  # noqa: PLC0415

    # Its usual record (an ingest delivery out of attempts) is ended without reading HealthImaging;
    # only a lane message with a call open looks at the image set.
    common = _common(settings, clients, metrics, images=clients.at_first_use("medical-imaging"))
    intake = _intake(settings, clients, metrics, common, LaneQueue(clients.sqs, settings.lane_queue_url))
    finalizer = Finalizer(
        ledger=common.ledger,
        calls=_open_call(settings, common),
        recorder=common.recorder,
        intake=intake,
        metrics=metrics,
        clock=common.clock,
    )
    return FinalizeRuntime(
        settings,
        finalizer,
        _imports(settings, clients, metrics, common),
        _trusted_rules(settings),
    )
