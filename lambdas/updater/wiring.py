"""Builds the updater's collaborators once per cold start: boto3 clients, adapters, the service."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from updater.adapters.healthimaging import HealthImagingGateway
from updater.adapters.ledger import Ledger
from updater.adapters.outcomes import FailureQueue, OutcomePublisher, RequestRequeue
from updater.adapters.pacer import UpdatePacer
from updater.adapters.version_claims import VersionClaims
from updater.call_deadline import guard
from updater.group_processor import GroupProcessor
from updater.import_runner import ImportReactionRunner
from updater.outcome_recorder import MetricsSink, OutcomeRecorder
from updater.service import UpdateService
from updater.settings import UpdaterSettings
from updater.turns import UpdateTurns

# Standard retries (3 attempts, at most ~3 s of back-off) absorb short throttling bursts; whatever
# remains goes back to SQS. Not adaptive: its client-side rate limiter blocks calls for seconds after
# throttling, regardless of the invocation's time reserve (the chaos soak saw invocations overrun
# their timeout inside it); the account-wide pacer already spaces the update calls.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=20)
# UpdateImageSetMetadata is never retried by the SDK. An unpaced retry after a throttle lands on the
# next request's pacing slot and throttles that one in turn; a retry after a lost response meets
# ConflictException for our own change. The service hands such a request back instead, and its
# ledger entry (APPLYING at the base version) tells the next delivery to look at base+1 first.
_UPDATE_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5, read_timeout=20
)


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


@dataclass(frozen=True)
class AwsClients:
    medical_imaging: Any
    medical_imaging_updates: Any
    dynamodb: Any
    events: Any
    sqs: Any
    s3: Any

    @classmethod
    def from_environment(cls, session: boto3.session.Session | None = None) -> AwsClients:
        """Endpoints come from the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables when set (local runs)."""
        session = session or boto3.session.Session()
        return cls(
            medical_imaging=guard(session.client("medical-imaging", config=_CLIENT_CONFIG)),
            medical_imaging_updates=guard(session.client("medical-imaging", config=_UPDATE_CLIENT_CONFIG)),
            # The call deadline covers every service a request's work touches: a ledger or queue
            # call retried against an unreachable endpoint can overrun the timeout as well.
            dynamodb=guard(session.client("dynamodb", config=_CLIENT_CONFIG)),
            events=guard(session.client("events", config=_CLIENT_CONFIG)),
            sqs=guard(session.client("sqs", config=_CLIENT_CONFIG)),
            s3=session.client("s3", config=_CLIENT_CONFIG),
        )


@dataclass(frozen=True)
class Runtime:
    settings: UpdaterSettings
    clients: AwsClients
    service: UpdateService
    groups: GroupProcessor
    requeue: RequestRequeue
    react_to_import: ImportReactionRunner
    metrics: MetricsSink


def build_runtime(
    settings: UpdaterSettings, clients: AwsClients, metrics: MetricsSink, clock: Any = None
) -> Runtime:
    clock = clock or SystemClock()
    ledger = Ledger(clients.dynamodb, settings.ledger_table_name, settings.ledger_ttl_days)
    publisher = OutcomePublisher(clients.events, settings.outcome_bus_name)
    failure_queue = FailureQueue(clients.sqs, settings.failure_dlq_url)
    recorder = OutcomeRecorder(ledger, publisher, failure_queue, metrics)
    gateway = HealthImagingGateway(
        clients.medical_imaging,
        on_retries=lambda _operation, retries: metrics.count("SdkRetries", retries),
        update_client=clients.medical_imaging_updates,
    )
    service = UpdateService(
        gateway=gateway,
        ledger=ledger,
        recorder=recorder,
        metrics=metrics,
        clock=clock,
        payload_limit_bytes=settings.payload_limit_bytes,
        allowed_datastores=settings.allowed_datastores,
        time_reserve_s=settings.time_reserve_ms / 1000,
        max_abandoned=settings.max_receive_count,
        claims=VersionClaims(clients.dynamodb, settings.ledger_table_name, settings.ledger_ttl_days),
        turns=UpdateTurns(
            UpdatePacer(
                clients.dynamodb,
                settings.ledger_table_name,
                rate_per_second=settings.update_rate_per_second,
                burst=settings.update_burst,
                now=clock.now,
                margin_s=settings.update_pacing_margin_ms / 1000,
            ),
            ledger,
            clock,
            # Half the margin: a call that late still leaves half the margin before the next slot.
            late_tolerance_s=settings.update_pacing_margin_ms / 2000,
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
        react_to_import=ImportReactionRunner(
            settings,
            s3=clients.s3,
            sqs=clients.sqs,
            gateway=gateway,
            publisher=publisher,
            failure_queue=failure_queue,
        ),
        metrics=metrics,
    )
