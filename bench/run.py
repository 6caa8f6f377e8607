"""Runs one workload with one updater on a fresh local stack and returns what was observed.

Real path for both updaters: SQS (moto) -> local event source mapping -> handler -> boto3 over HTTP
-> the HealthImaging emulator with the scaled quotas and log-normal settle times.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.naive_updater import completions
from bench.observation import EmulatorObserver
from bench.settings import UPDATE_OPERATION, BenchSettings
from bench.workloads import PlannedRequest, Workload, create_image_sets, plan_requests
from local.event_source import InvocationRecord
from local.healthimaging.records import ImageSetVersion
from local.invoke import drain
from local.stack import LocalStack, LocalStackOptions

OURS, NAIVE = "updater", "naive"
NAIVE_HANDLER = "bench.naive_updater.lambda_handler"
SQS_BATCH = 10
POLL_OUTCOMES_S = 0.5


@dataclass
class RunObservation:
    workload: Workload
    updater: str
    planned: list[PlannedRequest]
    sent_at: dict[str, float]
    finished_at: dict[str, float]  # request id -> when its terminal outcome was known
    statuses: dict[str, str]  # request id -> SUCCEEDED/FAILED (naive: SUCCEEDED when seen settled)
    coalesced: int  # requests that shared an update call with another request
    observer: EmulatorObserver
    call_counts: dict[str, int]
    error_counts: dict[str, dict[str, int]]  # error code -> operation -> calls
    accepted_updates: list[float]
    histories: dict[str, list[ImageSetVersion]]
    invocations: list[InvocationRecord]
    dlq_messages: int
    wall_s: float
    bench_cpu_s: float
    capped: bool
    notes: list[str] = field(default_factory=list)


def stack_options(settings: BenchSettings, workload: Workload, updater: str) -> LocalStackOptions:
    rate = settings.update_quota_per_s
    return LocalStackOptions(
        handler=NAIVE_HANDLER if updater == NAIVE else None,
        run_dir=settings.out_dir / "handler-logs" / f"{workload.name}-{updater}",
        name_prefix=f"bench{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=settings.function_timeout_s,
        function_timeout_s=settings.function_timeout_s,
        workers=settings.workers,
        emulator_profile=settings.emulator_profile(workload.payload_limit_bytes),
        extra_environment={
            "UPDATE_RATE_PER_SECOND": str(rate),
            "UPDATE_BURST": "1",
            "PAYLOAD_LIMIT_BYTES": str(workload.payload_limit_bytes),
            "POWERTOOLS_LOG_LEVEL": "INFO",
        },
    )


def run_workload(
    settings: BenchSettings, workload: Workload, updater: str, template: dict[str, Any]
) -> RunObservation:
    stack = LocalStack(stack_options(settings, workload, updater)).start(start_pollers=False)
    try:
        return _drive(settings, workload, updater, stack, template)
    finally:
        stack.stop()


def _drive(
    settings: BenchSettings,
    workload: Workload,
    updater: str,
    stack: LocalStack,
    template: dict[str, Any],
) -> RunObservation:
    assert stack.topology is not None
    service = stack.emulator.service
    image_sets = create_image_sets(service, stack.datastore_id, workload, template)
    planned = plan_requests(workload, image_sets, settings.seed)
    observer = EmulatorObserver()
    observer.attach(service)
    service.call_log.clear()
    cpu_started, started = time.process_time(), time.time()
    sent_at = _send(stack, planned)
    naive_logs = stack.function_logs if updater == NAIVE else None
    outcomes = OutcomeCollector(stack.aws, stack.topology.queue("outcome_capture").url, naive_logs)
    for poller in stack.pollers:
        poller.start()
    outcomes.wait_for(len(planned), deadline=started + settings.workload_cap_s)
    wall = time.time() - started
    cpu = time.process_time() - cpu_started
    for poller in stack.pollers:
        poller.stop()
    outcomes.collect()
    capped = len(outcomes.finished_at) < len(planned)
    log = service.call_log
    errors: dict[str, dict[str, int]] = {
        code: log.call_counts(error_code=code)
        for code in {r.error_code for r in log.records() if r.error_code is not None}
    }
    return RunObservation(
        workload=workload,
        updater=updater,
        planned=planned,
        sent_at=sent_at,
        finished_at=outcomes.finished_at,
        statuses=outcomes.statuses,
        coalesced=outcomes.coalesced,
        observer=observer,
        call_counts=log.call_counts(),
        error_counts=errors,
        accepted_updates=sorted(r.at for r in log.records(UPDATE_OPERATION) if r.error_code is None),
        histories={i: service.version_history(stack.datastore_id, i) for i in image_sets},
        invocations=stack.invocations(),
        dlq_messages=len(drain(stack.aws, stack.topology.queue("failures").url)),
        wall_s=wall,
        bench_cpu_s=cpu,
        capped=capped,
    )


def _send(stack: LocalStack, planned: list[PlannedRequest]) -> dict[str, float]:
    assert stack.topology is not None
    queue_url = stack.topology.queue("ingest").url
    sqs = stack.aws.sqs  # stack.aws builds new clients on every access
    sent_at: dict[str, float] = {}
    for start in range(0, len(planned), SQS_BATCH):
        chunk = planned[start : start + SQS_BATCH]
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(p.body(stack.datastore_id))} for i, p in enumerate(chunk)
        ]
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        now = time.time()
        sent_at |= {p.request_id: now for p in chunk}
    return sent_at


class OutcomeCollector:
    """Terminal outcomes as they arrive: the outcome bus's capture queue, or the naive updater's record.

    Polled instead of waiting for the queues to look idle: the idle check asks moto for queue
    attributes every 50 ms, which walks every message and would slow the run it measures.
    """

    def __init__(self, aws: Any, queue_url: str, naive_logs: Callable[[], str] | None) -> None:
        self._sqs = aws.sqs
        self._queue_url = queue_url
        self._naive_logs = naive_logs
        self.finished_at: dict[str, float] = {}
        self.statuses: dict[str, str] = {}
        self.coalesced = 0

    def wait_for(self, count: int, *, deadline: float) -> bool:
        while time.time() < deadline:
            self.collect()
            if len(self.finished_at) >= count:
                return True
            time.sleep(POLL_OUTCOMES_S)
        return False

    def collect(self) -> None:
        if self._naive_logs is not None:
            self.finished_at = {}
            for request_id, at in completions(self._naive_logs()):
                self.finished_at.setdefault(request_id, at)
            self.statuses = dict.fromkeys(self.finished_at, "SUCCEEDED")
            return
        while messages := self._sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=10, AttributeNames=["SentTimestamp"]
        ).get("Messages", []):
            for message in messages:
                self._record(json.loads(message["Body"])["detail"], message)
                self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _record(self, detail: dict[str, Any], message: dict[str, Any]) -> None:
        request_id = detail["requestId"]
        if request_id in self.finished_at:
            return
        # The outcome event reaches the capture queue when it is published: its SentTimestamp.
        self.finished_at[request_id] = int(message["Attributes"]["SentTimestamp"]) / 1000
        self.statuses[request_id] = detail["status"]
        self.coalesced += bool(detail.get("coalescedRequestIds"))
