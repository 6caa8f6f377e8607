"""Runs one workload with one updater on a fresh local stack and returns what was observed.

Real path for both updaters: SQS (moto's process) -> local event source mappings -> the functions in
Lambda execution environments (worker processes) -> boto3 over HTTP -> the HealthImaging emulator
with the profile's quotas and log-normal settle times. Ours is the stack's own three functions;
naive is `bench.naive_updater` run as every function's handler (only intake's queue gets traffic).

The mappings that carry the run's traffic (ours: ingest and the lane; naive: ingest) get
`settings.workers` concurrent invocations each, the idle ones (the other ingest queue, the DLQs) the
stack's own concurrency: every idle worker long-polls moto, and sixty-odd of them would be load the
real system does not have. Long polls wait `RECEIVE_WAIT_S` (Lambda's own pollers wait 20 s; the
local stack's default of 1 s makes each idle worker one moto request a second, about 5 ms of moto's
CPU each, and stopping waits out one long poll). Environments are started before the clock runs (one
concurrent empty invocation per worker of each busy function): cold starts are measured on their
own (`bench.cold_start`), and on 2 cores thirty of them inside a 30-second window would be most of
what it measures.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from bench.integrity import ReportedCall
from bench.moto_call_counts import PREFIX_VARIABLE, CallCounts
from bench.naive_updater import completions
from bench.observation import EmulatorObserver, logged_notices
from bench.profiles import UPDATE_OPERATION
from bench.rig_cpu import RigCpuSampler
from bench.rig_latency import RigLatencyProbe
from bench.rig_profile import PySpyRecorder, summarize
from bench.settings import NAIVE, BenchSettings
from bench.workloads import PlannedRequest, Workload, create_image_sets, plan_requests
from local.event_source import EventSourceSettings, InvocationRecord, SqsEventSourcePoller, stop_pollers
from local.healthimaging.records import ImageSetVersion
from local.invoke import drain
from local.stack import LocalStack, LocalStackOptions

NAIVE_HANDLER = "bench.naive_updater.lambda_handler"
PROMPT_LONG_POLL = "bench.moto_prompt_receive"
MOTO_CALL_COUNTS = "bench.moto_call_counts"
RECEIVE_WAIT_S = 5
SQS_BATCH = 10
POLL_OUTCOMES_S = 0.25
# Queues whose function has work in a run: ours goes through intake and the lane, naive only intake.
BUSY_QUEUES = {"ours": ("ingest", "fifo_lane"), NAIVE: ("ingest",)}


@dataclass
class RunObservation:
    profile: str
    workload: Workload
    updater: str
    planned: list[PlannedRequest]
    sent_at: dict[str, float]
    finished_at: dict[str, float]  # request id -> when its terminal outcome was known
    statuses: dict[str, str]  # request id -> SUCCEEDED/FAILED (naive: SUCCEEDED when seen settled)
    coalesced: int  # requests that shared an update call with another request
    reported_calls: dict[str, ReportedCall]  # ours: what each outcome says about its call
    observer: EmulatorObserver
    call_counts: dict[str, int]
    error_counts: dict[str, dict[str, int]]  # error code -> operation -> calls
    accepted_updates: list[float]
    histories: dict[str, list[ImageSetVersion]]
    invocations: list[InvocationRecord]
    failures_queue_messages: int
    first_sent: float
    window_end: float  # the last outcome, or when the bench stopped waiting (cut off)
    capped: bool
    workers: dict[str, int]  # function name -> concurrent invocations its busy mapping allows
    rig_cpu: dict[str, Any]
    rig_latency: dict[str, Any]
    rig_profile: dict[str, Any] = field(default_factory=dict)
    moto_calls: dict[str, int] = field(default_factory=dict)  # during the window (--count-moto-calls)
    # ours: (image set, version) -> when intake logged HealthImaging's settle event for it
    logged_notices: dict[tuple[str, str], float] = field(default_factory=dict)

    @property
    def window_s(self) -> float:
        return max(1e-6, self.window_end - self.first_sent)


def stack_options(
    settings: BenchSettings, profile: str, workload: Workload, updater: str
) -> LocalStackOptions:
    return LocalStackOptions(
        handler=NAIVE_HANDLER if updater == NAIVE else None,
        run_dir=settings.out_dir / "handler-logs" / f"{profile}-{workload.name}-{updater}",
        name_prefix=f"bench{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=settings.function_timeout_s,
        function_timeout_s=settings.function_timeout_s,
        emulator_profile=settings.emulator_profile(profile, workload.payload_limit_bytes),
        extra_environment={
            **settings.updater_environment(profile),
            "PAYLOAD_LIMIT_BYTES": str(workload.payload_limit_bytes),
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **settings.extra_environment,
        },
        moto_patches=(
            *(() if settings.moto_as_is else (PROMPT_LONG_POLL,)),
            *((MOTO_CALL_COUNTS,) if settings.count_moto_calls else ()),
        ),
        moto_own_processes=settings.moto_own_processes,
    )


def use_pollers(stack: LocalStack, updater: str, workers: int | None) -> None:
    """The busy mappings with `workers` concurrent invocations, the others with their own."""
    assert stack.topology is not None
    topology = stack.topology
    stack.pollers = [
        SqsEventSourcePoller(
            stack.moto.client("sqs"),
            stack.functions[mapping.function_id],
            replace(
                EventSourceSettings.from_topology(
                    topology,
                    mapping.queue_role,
                    workers if mapping.queue_role in BUSY_QUEUES[updater] else None,
                ),
                receive_wait_s=RECEIVE_WAIT_S,
            ),
        )
        for mapping in topology.event_source_mappings
    ]


def warm_up(stack: LocalStack, updater: str, workers: int | None) -> dict[str, int]:
    """Starts each busy function's environments with concurrent empty invocations (not recorded:
    only the pollers' invocations are); returns how many concurrent invocations each may get."""
    assert stack.topology is not None
    counts: dict[str, int] = {}
    for queue_role in BUSY_QUEUES[updater]:
        function = stack.topology.function_of(queue_role)
        counts[function.function_name] = workers or stack.topology.mapping(queue_role).maximum_concurrency
    with ThreadPoolExecutor(max_workers=sum(counts.values())) as pool:
        futures = [
            pool.submit(stack.invoke, name, {"Records": []}) for name, n in counts.items() for _ in range(n)
        ]
        for future in futures:
            future.result()
    return counts


def run_workload(
    settings: BenchSettings, profile: str, workload: Workload, updater: str, template: dict[str, Any]
) -> RunObservation:
    counted = moto_call_counter(settings, profile, workload, updater)
    if counted is not None:  # moto's processes read it when they start (bench.moto_call_counts)
        os.environ[PREFIX_VARIABLE] = str(counted.prefix)
    try:
        stack = LocalStack(stack_options(settings, profile, workload, updater)).start(start_pollers=False)
    finally:
        os.environ.pop(PREFIX_VARIABLE, None)
    try:
        use_pollers(stack, updater, settings.workers)
        workers = warm_up(stack, updater, settings.workers)
        return _drive(settings, profile, workload, updater, stack, template, workers, counted)
    finally:
        stack.stop()


def moto_call_counter(
    settings: BenchSettings, profile: str, workload: Workload, updater: str
) -> CallCounts | None:
    if not settings.count_moto_calls:
        return None
    prefix = settings.out_dir / "moto-calls" / f"{profile}-{workload.name}-{updater}"
    prefix.parent.mkdir(parents=True, exist_ok=True)
    for stale in prefix.parent.glob(f"{prefix.name}-*.json"):
        stale.unlink()
    return CallCounts(prefix)


def _drive(
    settings: BenchSettings,
    profile: str,
    workload: Workload,
    updater: str,
    stack: LocalStack,
    template: dict[str, Any],
    workers: dict[str, int],
    counts: CallCounts | None = None,
) -> RunObservation:
    assert stack.topology is not None
    service = stack.emulator.service
    image_sets = create_image_sets(service, stack.datastore_id, workload, template)
    planned = plan_requests(workload, image_sets, settings.seed)
    observer = EmulatorObserver()
    observer.attach(service)
    service.call_log.clear()
    sampler = RigCpuSampler().start()
    probe = RigLatencyProbe(stack.aws.dynamodb, stack.emulator.endpoint_url).start()
    spy_file = settings.out_dir / "py-spy" / f"{profile}-{workload.name}-{updater}.txt"
    spy = PySpyRecorder(os.getpid(), spy_file).start() if settings.py_spy else None
    before = counts.read() if counts else {}
    first_sent = time.time()
    sent_at = _send(stack, planned)
    naive_logs = stack.function_logs if updater == NAIVE else None
    outcomes = OutcomeCollector(stack.aws, stack.topology.queue("outcome_capture").url, naive_logs)
    for poller in stack.pollers:
        poller.start()
    all_finished = outcomes.wait_for(len(planned), deadline=first_sent + settings.cap_s(profile))
    stopped_waiting = time.time()
    sampler.stop()
    probe.stop()
    roles = sampler.roles()
    if spy is not None:
        spy.stop()
    stop_pollers(stack.pollers)
    moto_calls = counts.since(before) if counts else {}
    outcomes.collect()
    window_end = max(outcomes.finished_at.values()) if all_finished else stopped_waiting
    log = service.call_log
    errors: dict[str, dict[str, int]] = {
        code: log.call_counts(error_code=code)
        for code in {r.error_code for r in log.records() if r.error_code is not None}
    }
    return RunObservation(
        profile=profile,
        workload=workload,
        updater=updater,
        planned=planned,
        sent_at=sent_at,
        finished_at={r: at for r, at in outcomes.finished_at.items() if at <= window_end},
        statuses=outcomes.statuses,
        coalesced=outcomes.coalesced,
        reported_calls=outcomes.calls,
        observer=observer,
        call_counts=log.call_counts(),
        error_counts=errors,
        accepted_updates=sorted(r.at for r in log.records(UPDATE_OPERATION) if r.error_code is None),
        histories={i: service.version_history(stack.datastore_id, i) for i in image_sets},
        invocations=stack.invocations(),
        failures_queue_messages=len(drain(stack.aws, stack.topology.queue("failures").url)),
        first_sent=first_sent,
        window_end=window_end,
        capped=not all_finished,
        workers=workers,
        rig_cpu=sampler.figures(),
        rig_latency=probe.figures(),
        rig_profile=summarize(spy_file, roles) if spy is not None else {},
        moto_calls=moto_calls,
        logged_notices={} if updater == NAIVE else logged_notices(stack.function_logs()),
    )


def _send(stack: LocalStack, planned: list[PlannedRequest]) -> dict[str, float]:
    assert stack.topology is not None
    queue_url = stack.topology.queue("ingest").url
    sent_at: dict[str, float] = {}
    for start in range(0, len(planned), SQS_BATCH):
        chunk = planned[start : start + SQS_BATCH]
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(p.body(stack.datastore_id))} for i, p in enumerate(chunk)
        ]
        stack.aws.sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        now = time.time()
        sent_at |= {p.request_id: now for p in chunk}
    return sent_at


class OutcomeCollector:
    """Terminal outcomes as they arrive: the outcome bus's capture queue, or the naive updater's
    log lines. Polled instead of waiting for the queues to look idle: the idle check asks moto for
    queue attributes every 50 ms, which walks every message and would slow the run it measures."""

    def __init__(self, aws: Any, queue_url: str, naive_logs: Callable[[], str] | None) -> None:
        self._sqs = aws.sqs
        self._queue_url = queue_url
        self._naive_logs = naive_logs
        self.finished_at: dict[str, float] = {}
        self.statuses: dict[str, str] = {}
        self.calls: dict[str, ReportedCall] = {}
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
            for request_id, at in completions(self._naive_logs()):
                self.finished_at.setdefault(request_id, at)
            self.statuses = dict.fromkeys(self.finished_at, "SUCCEEDED")
            return
        while messages := self._sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=10, AttributeNames=["SentTimestamp"]
        ).get("Messages", []):
            for message in messages:
                self._record(json.loads(message["Body"])["detail"], message)
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )

    def _record(self, detail: dict[str, Any], message: dict[str, Any]) -> None:
        request_id = detail["requestId"]
        if request_id in self.finished_at:
            return
        # The outcome event reaches the capture queue when it is published: its SentTimestamp.
        self.finished_at[request_id] = int(message["Attributes"]["SentTimestamp"]) / 1000
        self.statuses[request_id] = detail["status"]
        shared = tuple(detail.get("coalescedRequestIds") or ())
        self.calls[request_id] = ReportedCall(detail.get("toVersionId"), shared)
        self.coalesced += bool(shared)
