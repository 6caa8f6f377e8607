"""A local SQS event source mapping: polls a queue and invokes its function the way Lambda does.

Per batch: ReceiveMessage (up to the batch size, gathering for the batching window), build the
Lambda SQS event, invoke with a `LocalLambdaContext` whose remaining time counts down from the
function timeout, then delete what succeeded. Failed messages are left alone: they reappear after
the queue's visibility timeout, and moto moves them to the DLQ once their receive count reaches
the redrive policy's maxReceiveCount. A raised exception, a timeout or an invalid response fails
the whole batch. Several workers poll concurrently, like the mapping's concurrent pollers; each
invocation goes to the function's `FunctionInvoker` (its execution environments, or in process).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local.invocation_faults import FaultPlan, InvocationFault, PlannedInvocation
from local.lambda_context import LocalLambdaContext
from local.lambda_invocation import FunctionInvoker, InvocationResult, InvocationStatus
from local.sqs_lambda_event import BatchVerdict, batch_verdict, lambda_sqs_event
from local.topology import LocalTopology

logger = logging.getLogger(__name__)
SQS_MAX_MESSAGES_PER_RECEIVE = 10
IDLE_CHECK_INTERVAL_S = 0.05
RECEIVE_RETRY_S = 0.5
QUEUE_DEPTH_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@dataclass(frozen=True)
class EventSourceSettings:
    """One mapping: the polled queue, how batches are formed, and the function's limits."""

    queue_url: str
    queue_arn: str
    function_name: str
    function_timeout_s: float
    memory_mb: int = 128
    batch_size: int = 10
    maximum_batching_window_s: float = 0.0
    workers: int = 2
    report_batch_item_failures: bool = True
    # Long-poll wait per ReceiveMessage; short so that stop() is prompt.
    receive_wait_s: int = 1

    @classmethod
    def from_topology(
        cls, topology: LocalTopology, queue_role: str, workers: int | None = None
    ) -> EventSourceSettings:
        mapping = topology.mapping(queue_role)
        function = topology.function_of(queue_role)
        queue = topology.queue(queue_role)
        return cls(
            queue_url=queue.url,
            queue_arn=queue.arn,
            function_name=function.function_name,
            function_timeout_s=function.timeout_s,
            memory_mb=function.memory_mb,
            batch_size=mapping.batch_size,
            # AWS sizes visibility >= 6 x timeout + window; shortened local visibility must keep
            # the window below it, or a gathered message reappears before its batch is invoked.
            maximum_batching_window_s=min(mapping.maximum_batching_window_s, queue.visibility_timeout_s / 2),
            workers=workers or mapping.maximum_concurrency,
            report_batch_item_failures=mapping.report_batch_item_failures,
        )


@dataclass(frozen=True)
class InvocationRecord:
    request_id: str
    function_name: str
    message_ids: tuple[str, ...]
    receive_counts: tuple[int, ...]
    status: InvocationStatus
    verdict: BatchVerdict
    error_type: str | None
    duration_s: float
    remaining_ms_at_end: int
    stopped_at: str | None = None  # a timed-out or cut-off handler's code location


class SqsEventSourcePoller:
    def __init__(
        self,
        sqs_client: Any,
        function: FunctionInvoker,
        settings: EventSourceSettings,
        *,
        fault_plan: FaultPlan | None = None,
        on_invocation: Callable[[InvocationRecord], None] | None = None,
    ) -> None:
        self._sqs = sqs_client
        self._function = function
        self.settings = settings
        self._fault_plan = fault_plan
        self._on_invocation = on_invocation
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._busy_workers = 0
        self.invocations: list[InvocationRecord] = []

    @property
    def running(self) -> bool:
        return bool(self._threads)

    def start(self) -> SqsEventSourcePoller:
        if self.running:
            return self
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._poll_forever, name=f"sqs-poller-{index}", daemon=True)
            for index in range(self.settings.workers)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        stop_pollers([self])

    def _request_stop(self) -> None:
        self._stopping.set()

    def _join(self) -> None:
        for thread in self._threads:
            thread.join()
        self._threads = []

    def run_until_idle(self, timeout_s: float) -> list[InvocationRecord]:
        """Polls until the queue is drained and no invocation runs; returns this run's invocations."""
        already_running, first = self.running, len(self.invocations)
        self.start()
        try:
            wait_until_idle([self], timeout_s)
        finally:
            if not already_running:
                self.stop()
        return self.invocations[first:]

    def is_idle(self) -> bool:
        """No worker holds a batch and the queue has no visible, in-flight or delayed message."""
        with self._lock:
            if self._busy_workers:
                return False
        try:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=self.settings.queue_url, AttributeNames=list(QUEUE_DEPTH_ATTRIBUTES)
            )["Attributes"]
        except (BotoCoreError, ClientError):
            return False  # SQS unreachable: nothing says the queue is empty
        return all(int(attributes.get(name, 0)) == 0 for name in QUEUE_DEPTH_ATTRIBUTES)

    def _poll_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                messages = self._receive_batch()
            except (BotoCoreError, ClientError):
                # SQS unreachable (the soak restarts moto): Lambda's pollers keep trying, so do we.
                logger.warning("local event source could not receive; trying again")
                self._stopping.wait(RECEIVE_RETRY_S)
                continue
            if not messages:
                continue
            # Counted only while holding a batch: an empty long poll must not look like work.
            with self._lock:
                self._busy_workers += 1
            try:
                self._process(messages)
            except Exception:
                # The batch stays in flight and comes back after the visibility timeout, as after
                # a poller crash in AWS; the worker itself must survive to poll again.
                logger.exception("local event source failed to process a batch of %d", len(messages))
            finally:
                with self._lock:
                    self._busy_workers -= 1

    def _receive_batch(self) -> list[dict[str, Any]]:
        """Receives up to the batch size, waiting for more until the batching window closes."""
        window_closes = time.monotonic() + self.settings.maximum_batching_window_s
        batch = {
            m["MessageId"]: m for m in self._receive(self.settings.batch_size, self.settings.receive_wait_s)
        }
        while batch and len(batch) < self.settings.batch_size and time.monotonic() < window_closes:
            wait = min(self.settings.receive_wait_s, max(0, int(window_closes - time.monotonic())))
            # A message received again within the window (visibility shorter than the window, as in
            # shortened local timings) counts once, with its newest receipt handle.
            batch |= {m["MessageId"]: m for m in self._receive(self.settings.batch_size - len(batch), wait)}
        return list(batch.values())

    def _receive(self, count: int, wait_s: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self.settings.queue_url,
            MaxNumberOfMessages=min(count, SQS_MAX_MESSAGES_PER_RECEIVE),
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _process(self, messages: list[dict[str, Any]]) -> None:
        message_ids = tuple(message["MessageId"] for message in messages)
        context = LocalLambdaContext(
            function_name=self.settings.function_name,
            memory_limit_in_mb=str(self.settings.memory_mb),
            timeout_s=self.settings.function_timeout_s,
        )
        planned = PlannedInvocation(
            request_id=context.aws_request_id,
            queue_arn=self.settings.queue_arn,
            message_ids=message_ids,
            receive_counts=tuple(int(m["Attributes"]["ApproximateReceiveCount"]) for m in messages),
        )
        fault = (self._fault_plan(planned) if self._fault_plan else None) or InvocationFault()
        event = lambda_sqs_event(messages, self.settings.queue_arn)
        result = self._function.invoke(event, context, cut_off_after_s=fault.cut_off_after_s)
        verdict = self._verdict(result, message_ids, fault)
        self._record(planned, result, verdict, context)
        try:
            self._delete(messages, verdict.succeeded)
        except (BotoCoreError, ClientError):  # SQS unreachable: as in AWS, the batch comes back
            logger.warning("local event source could not delete a finished batch; it will be delivered again")

    def _verdict(
        self, result: InvocationResult, message_ids: tuple[str, ...], fault: InvocationFault
    ) -> BatchVerdict:
        if result.status is not InvocationStatus.RETURNED:
            return BatchVerdict(succeeded=(), failed=message_ids, error=result.status.value)
        if fault.lose_response:
            return BatchVerdict(succeeded=(), failed=message_ids, error="response_lost")
        return batch_verdict(
            result.response, message_ids, report_batch_item_failures=self.settings.report_batch_item_failures
        )

    def _delete(self, messages: Sequence[dict[str, Any]], message_ids: Sequence[str]) -> None:
        wanted = set(message_ids)
        entries = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(messages)
            if message["MessageId"] in wanted
        ]
        for start in range(0, len(entries), SQS_MAX_MESSAGES_PER_RECEIVE):
            chunk = entries[start : start + SQS_MAX_MESSAGES_PER_RECEIVE]
            self._sqs.delete_message_batch(QueueUrl=self.settings.queue_url, Entries=chunk)

    def _record(
        self,
        planned: PlannedInvocation,
        result: InvocationResult,
        verdict: BatchVerdict,
        context: LocalLambdaContext,
    ) -> None:
        record = InvocationRecord(
            request_id=planned.request_id,
            function_name=self.settings.function_name,
            message_ids=planned.message_ids,
            receive_counts=planned.receive_counts,
            status=result.status,
            verdict=verdict,
            error_type=result.error_type,
            duration_s=time.monotonic() - context.started_at,
            remaining_ms_at_end=context.get_remaining_time_in_millis(),
            stopped_at=result.stopped_at,
        )
        with self._lock:
            self.invocations.append(record)
        if self._on_invocation is not None:
            self._on_invocation(record)


def stop_pollers(pollers: Sequence[SqsEventSourcePoller]) -> None:
    """Stops them together: each worker ends its long poll (or finishes its batch) first, so one at
    a time would add up their waits."""
    for poller in pollers:
        poller._request_stop()
    for poller in pollers:
        poller._join()


def wait_until_idle(pollers: Sequence[SqsEventSourcePoller], timeout_s: float) -> None:
    """Returns once every poller is idle at the same time; raises TimeoutError otherwise.

    Checked twice in a row because a handler of one queue may feed another (import fan-out).
    """
    deadline = time.monotonic() + timeout_s
    consecutive_idle = 0
    while consecutive_idle < 2:
        if time.monotonic() > deadline:
            raise TimeoutError(f"event sources not idle after {timeout_s} s")
        consecutive_idle = consecutive_idle + 1 if all(p.is_idle() for p in pollers) else 0
        time.sleep(IDLE_CHECK_INTERVAL_S)
