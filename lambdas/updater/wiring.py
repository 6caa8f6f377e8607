"""Builds each function's collaborators once per cold start: boto3 clients, adapters, domain services.

    build_intake    ingest queues  -> Intake (+ the import reaction)
    build_apply     lane           -> LaneSteps, the only caller of UpdateImageSetMetadata
    build_finalize  redrive DLQs   -> Finalizer (+ the import reaction's give-up)

Tests pass clients pointed at the emulator or moto's server; nothing here is patched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from updater.adapters.events import OutcomePublisher
from updater.adapters.failures import FailureQueue
from updater.adapters.healthimaging import HealthImagingGateway
from updater.adapters.lane import LaneQueue, QueueVisibility
from updater.adapters.ledger import LedgerTable
from updater.adapters.pacer import UpdatePacer
from updater.adapters.sdk import AwsClients
from updater.domain.calls import OpenCall
from updater.domain.finalize import Finalizer
from updater.domain.intake import Intake, IntakeRules
from updater.domain.pacing import PacedTurns
from updater.domain.ports import MetricsSink
from updater.domain.recorder import OutcomeRecorder
from updater.domain.settle import SettlePolicy, SettleSchedule
from updater.domain.steps import LaneSteps, StepSettings
from updater.imports.corrections import CorrectionsReader
from updater.imports.manifests import ImportManifestReader
from updater.imports.rules import RuleSet, load_rules
from updater.imports.runner import ImportReactionRunner
from updater.settings import UpdaterSettings


class SystemClock:
    """The domain's Clock: the system's own functions, with nothing of ours in between."""

    now = staticmethod(time.time)
    sleep = staticmethod(time.sleep)  # callers never pass a negative time


@dataclass(frozen=True)
class IntakeRuntime:
    settings: UpdaterSettings
    intake: Intake
    queues: QueueVisibility


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
    imports: ImportReactionRunner


@dataclass(frozen=True)
class _Common:
    ledger: LedgerTable
    recorder: OutcomeRecorder
    gateway: HealthImagingGateway
    publisher: OutcomePublisher
    failures: FailureQueue
    clock: SystemClock


def _common(settings: UpdaterSettings, clients: AwsClients, metrics: MetricsSink) -> _Common:
    ledger = LedgerTable(clients.dynamodb, settings.ledger_table_name, settings.ledger_ttl_days)
    publisher = OutcomePublisher(clients.events, settings.outcome_bus_name)
    failures = FailureQueue(clients.sqs, settings.failures_queue_url)
    gateway = HealthImagingGateway(
        clients.medical_imaging,
        on_retries=lambda _operation, retries: metrics.count("SdkRetries", retries),
        update_client=clients.medical_imaging_updates,
    )
    recorder = OutcomeRecorder(ledger, publisher, failures, metrics)
    return _Common(ledger, recorder, gateway, publisher, failures, SystemClock())


def _imports(settings: UpdaterSettings, clients: AwsClients, common: _Common) -> ImportReactionRunner:
    rules = load_rules(settings.import_rules_path) if settings.import_rules_path else RuleSet(version=1)
    return ImportReactionRunner(
        rules=rules,
        allowed_datastores=settings.allowed_datastores,
        manifests=ImportManifestReader(clients.s3),
        corrections=CorrectionsReader(clients.s3),
        fetch_metadata=common.gateway.get_metadata,
        events=common.publisher,
        failures=common.failures,
    )


def _intake(settings: UpdaterSettings, clients: AwsClients, metrics: MetricsSink, common: _Common) -> Intake:
    return Intake(
        ledger=common.ledger,
        lane=LaneQueue(clients.sqs, settings.lane_queue_url),
        recorder=common.recorder,
        metrics=metrics,
        clock=common.clock,
        rules=IntakeRules(settings.payload_limit_bytes, settings.allowed_datastores),
        imports=_imports(settings, clients, common),
    )


def _open_call(settings: UpdaterSettings, common: _Common) -> OpenCall:
    schedule = SettleSchedule(policy=SettlePolicy(timeout_s=settings.settle_timeout_s))
    return OpenCall(images=common.gateway, ledger=common.ledger, clock=common.clock, schedule=schedule)


def build_intake(settings: UpdaterSettings, clients: AwsClients, metrics: MetricsSink) -> IntakeRuntime:
    common = _common(settings, clients, metrics)
    return IntakeRuntime(settings, _intake(settings, clients, metrics, common), QueueVisibility(clients.sqs))


def build_apply(settings: UpdaterSettings, clients: AwsClients, metrics: MetricsSink) -> ApplyRuntime:
    common = _common(settings, clients, metrics)
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
        settings=StepSettings(
            payload_limit_bytes=settings.payload_limit_bytes,
            inline_settle_s=settings.settle_inline_ms / 1000,
            reserve_s=settings.time_reserve_ms / 1000,
        ),
    )
    return ApplyRuntime(settings, steps, common.recorder, QueueVisibility(clients.sqs), common.clock)


def build_finalize(settings: UpdaterSettings, clients: AwsClients, metrics: MetricsSink) -> FinalizeRuntime:
    common = _common(settings, clients, metrics)
    intake = _intake(settings, clients, metrics, common)
    finalizer = Finalizer(
        ledger=common.ledger,
        calls=_open_call(settings, common),
        recorder=common.recorder,
        intake=intake,
        metrics=metrics,
        clock=common.clock,
    )
    return FinalizeRuntime(settings, finalizer, _imports(settings, clients, common))
