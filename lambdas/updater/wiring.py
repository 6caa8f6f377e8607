"""Builds the updater's collaborators once per cold start: boto3 clients, adapters, the service."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from updater.adapters.healthimaging import HealthImagingGateway
from updater.adapters.ledger import Ledger
from updater.adapters.outcomes import FailureQueue, OutcomePublisher, RequestRequeue
from updater.adapters.pacer import UpdatePacer
from updater.group_processor import GroupProcessor
from updater.imports.corrections import CorrectionsReader
from updater.imports.fanout import RequestFanout
from updater.imports.manifests import ImportManifestReader
from updater.imports.reaction import react_to_import_completed
from updater.imports.rules import RuleSet, load_rules
from updater.outcome_recorder import MetricsSink, OutcomeRecorder
from updater.service import UpdateService
from updater.settings import UpdaterSettings

# Adaptive retries absorb short throttling bursts client-side; whatever remains goes back to SQS.
IMPORT_SUMMARY_DETAIL_TYPE = "ImportJob.Reacted"
_CLIENT_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 4}, connect_timeout=5, read_timeout=20)


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


@dataclass(frozen=True)
class AwsClients:
    medical_imaging: Any
    dynamodb: Any
    events: Any
    sqs: Any
    s3: Any

    @classmethod
    def from_environment(cls, session: boto3.session.Session | None = None) -> AwsClients:
        """Endpoints come from the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables when set (local runs)."""
        session = session or boto3.session.Session()
        return cls(
            medical_imaging=session.client("medical-imaging", config=_CLIENT_CONFIG),
            dynamodb=session.client("dynamodb", config=_CLIENT_CONFIG),
            events=session.client("events", config=_CLIENT_CONFIG),
            sqs=session.client("sqs", config=_CLIENT_CONFIG),
            s3=session.client("s3", config=_CLIENT_CONFIG),
        )


@dataclass(frozen=True)
class Runtime:
    settings: UpdaterSettings
    clients: AwsClients
    service: UpdateService
    groups: GroupProcessor
    requeue: RequestRequeue
    react_to_import: Callable[[Mapping[str, Any]], dict[str, object]]


def _import_reaction(
    settings: UpdaterSettings, clients: AwsClients, gateway: HealthImagingGateway, publisher: OutcomePublisher
) -> Callable[[Mapping[str, Any]], dict[str, object]]:
    rules = load_rules(settings.import_rules_path) if settings.import_rules_path else RuleSet(version=1)

    def react(envelope: Mapping[str, Any]) -> dict[str, object]:
        summary = react_to_import_completed(
            envelope,
            allowed_datastores=settings.allowed_datastores,
            manifest_reader=ImportManifestReader(clients.s3),
            fetch_metadata=gateway.get_metadata,
            rules=rules,
            corrections_reader=CorrectionsReader(clients.s3),
            fanout=RequestFanout(clients.sqs, settings.ingest_queue_url),
        )
        detail = summary.wire_dict()
        if not summary.ignored:
            publisher.publish_detail(IMPORT_SUMMARY_DETAIL_TYPE, detail)
        return detail

    return react


def build_runtime(
    settings: UpdaterSettings, clients: AwsClients, metrics: MetricsSink, clock: Any = None
) -> Runtime:
    clock = clock or SystemClock()
    ledger = Ledger(clients.dynamodb, settings.ledger_table_name, settings.ledger_ttl_days)
    publisher = OutcomePublisher(clients.events, settings.outcome_bus_name)
    recorder = OutcomeRecorder(
        ledger, publisher, FailureQueue(clients.sqs, settings.failure_dlq_url), metrics
    )
    gateway = HealthImagingGateway(clients.medical_imaging)
    service = UpdateService(
        gateway=gateway,
        ledger=ledger,
        recorder=recorder,
        metrics=metrics,
        clock=clock,
        payload_limit_bytes=settings.payload_limit_bytes,
        allowed_datastores=settings.allowed_datastores,
        time_reserve_s=settings.time_reserve_ms / 1000,
        pacer=UpdatePacer(
            clients.dynamodb,
            settings.ledger_table_name,
            rate_per_second=settings.update_rate_per_second,
            burst=settings.update_burst,
            now=clock.now,
        ),
    )
    groups = GroupProcessor(
        service,
        ledger,
        recorder,
        metrics,
        payload_limit_bytes=settings.payload_limit_bytes,
        allowed_datastores=settings.allowed_datastores,
        now=clock.now,
    )
    return Runtime(
        settings=settings,
        clients=clients,
        service=service,
        groups=groups,
        requeue=RequestRequeue(clients.sqs),
        react_to_import=_import_reaction(settings, clients, gateway, publisher),
    )
