"""The local event source mapping invokes a function over SQS the way Lambda's mapping does.

Most cases run their handler in process (`InProcessFunction`), where a test can watch it; the
timeout and cut-off cases need execution environments (`tests/local/stack/lambda_task_root`).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from local.event_source import EventSourceSettings, SqsEventSourcePoller, wait_until_idle
from local.execution_environments import ExecutionEnvironments
from local.invocation_faults import InvocationFault, PlannedInvocation
from local.lambda_invocation import InProcessFunction, InvocationStatus
from local.moto_stack import AwsClients
from local.topology import LocalTopology
from tests.local.stack.handwritten_stack import BATCH_SIZE, MAX_RECEIVE_COUNT
from tests.local.stack.test_execution_environments import TASK_ROOT

IDLE_TIMEOUT_S = 30


class RecordingHandler:
    """A handler that records every event and fails the records whose body says so."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        with self.lock:
            self.events.append(event)
        failures = [
            {"itemIdentifier": record["messageId"]}
            for record in event["Records"]
            if json.loads(record["body"]).get("fail")
        ]
        return {"batchItemFailures": failures}

    def records(self) -> list[dict[str, Any]]:
        return [record for event in self.events for record in event["Records"]]


def send(aws: AwsClients, url: str, body: dict[str, Any], **extra: Any) -> str:
    return aws.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body), **extra)["MessageId"]  # type: ignore[no-any-return]


def drain(aws: AwsClients, url: str) -> list[dict[str, Any]]:
    messages = aws.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=1
    ).get("Messages", [])
    return list(messages)


def poller(
    aws: AwsClients, topology: LocalTopology, handler: Any, role: str = "ingest", **options: Any
) -> SqsEventSourcePoller:
    workers = options.pop("workers", None)
    return SqsEventSourcePoller(
        aws.sqs,
        InProcessFunction(handler),
        EventSourceSettings.from_topology(topology, role, workers),
        **options,
    )


def environments(topology: LocalTopology, handler: str, log_dir: Path) -> ExecutionEnvironments:
    """The ingest mapping's function, with one of the probe handlers in place of its own."""
    function = replace(topology.function_of("ingest"), handler=handler)
    return ExecutionEnvironments(function, {}, log_dir, task_root=TASK_ROOT)


def test_records_have_lambdas_sqs_event_shape(aws: AwsClients, topology: LocalTopology) -> None:
    queue = topology.queue("ingest")
    message_id = send(
        aws,
        queue.url,
        {"n": 1},
        MessageAttributes={
            "origin": {"DataType": "String", "StringValue": "ris"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    handler = RecordingHandler()
    poller(aws, topology, handler, workers=1).run_until_idle(IDLE_TIMEOUT_S)

    (record,) = handler.records()
    assert record["messageId"] == message_id
    assert json.loads(record["body"]) == {"n": 1}
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue.arn
    assert record["awsRegion"] == "us-east-1"
    assert record["receiptHandle"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["origin"] == {
        "stringValue": "ris",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["dataType"] == "Binary"
    assert "binaryValue" in record["messageAttributes"]["blob"]


def test_batches_respect_batch_size_and_successes_are_deleted(
    aws: AwsClients, topology: LocalTopology
) -> None:
    queue = topology.queue("ingest")
    sent = {send(aws, queue.url, {"n": n}) for n in range(BATCH_SIZE * 2 + 1)}
    handler = RecordingHandler()
    invocations = poller(aws, topology, handler, workers=1).run_until_idle(IDLE_TIMEOUT_S)

    assert {record["messageId"] for record in handler.records()} == sent
    assert all(len(event["Records"]) <= BATCH_SIZE for event in handler.events)
    assert all(invocation.verdict.failed == () for invocation in invocations)
    assert drain(aws, queue.url) == []


def test_partially_failed_message_is_redriven_to_dlq_after_max_receive_count(
    aws: AwsClients, topology: LocalTopology
) -> None:
    queue = topology.queue("ingest")
    good = send(aws, queue.url, {"fail": False})
    bad = send(aws, queue.url, {"fail": True})
    handler = RecordingHandler()
    poller(aws, topology, handler, workers=1).run_until_idle(IDLE_TIMEOUT_S)

    deliveries = [(r["messageId"], r["attributes"]["ApproximateReceiveCount"]) for r in handler.records()]
    assert deliveries.count((good, "1")) == 1
    assert [count for mid, count in deliveries if mid == good] == ["1"]
    assert [count for mid, count in deliveries if mid == bad] == [
        str(n) for n in range(1, MAX_RECEIVE_COUNT + 1)
    ]
    assert [message["MessageId"] for message in drain(aws, topology.queue("ingest_dlq").url)] == [bad]


def test_handler_exception_fails_the_whole_batch_and_it_is_redelivered(
    aws: AwsClients, topology: LocalTopology
) -> None:
    queue = topology.queue("ingest")
    sent = {send(aws, queue.url, {"n": n}) for n in range(3)}
    attempts: list[set[str]] = []

    def flaky(event: dict[str, Any], context: Any) -> None:
        attempts.append({record["messageId"] for record in event["Records"]})
        if len(attempts) == 1:
            raise RuntimeError("downstream unavailable")

    invocations = poller(aws, topology, flaky, workers=1).run_until_idle(IDLE_TIMEOUT_S)

    assert invocations[0].status is InvocationStatus.RAISED
    assert invocations[0].error_type == "RuntimeError"
    assert set(invocations[0].verdict.failed) == attempts[0]
    assert set().union(*attempts[1:]) == sent
    assert drain(aws, queue.url) == []


def test_response_naming_an_unknown_item_fails_the_whole_batch(
    aws: AwsClients, topology: LocalTopology
) -> None:
    send(aws, topology.queue("ingest").url, {"n": 1})
    calls: list[int] = []

    def confused(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(1)
        failures = [{"itemIdentifier": "not-in-this-batch"}] if len(calls) == 1 else []
        return {"batchItemFailures": failures}

    invocations = poller(aws, topology, confused, workers=1).run_until_idle(IDLE_TIMEOUT_S)
    assert invocations[0].verdict.error == "InvalidBatchResponse"
    assert invocations[0].verdict.succeeded == ()
    assert [i.receive_counts for i in invocations] == [(1,), (2,)]


def test_remaining_time_counts_down_from_the_function_timeout(
    aws: AwsClients, topology: LocalTopology
) -> None:
    send(aws, topology.queue("ingest").url, {"n": 1})
    readings: list[int] = []
    seen_contexts: list[Any] = []

    def timed(event: dict[str, Any], context: Any) -> None:
        seen_contexts.append(context)
        readings.append(context.get_remaining_time_in_millis())
        time.sleep(0.2)
        readings.append(context.get_remaining_time_in_millis())

    poller(aws, topology, timed, workers=1).run_until_idle(IDLE_TIMEOUT_S)

    function = topology.function_of("ingest")
    assert 0 < readings[0] <= function.timeout_s * 1000
    assert readings[0] - readings[1] >= 200
    (context,) = seen_contexts
    assert context.function_name == function.function_name
    assert context.memory_limit_in_mb == str(function.memory_mb)
    assert context.invoked_function_arn.endswith(f":function:{function.function_name}")
    assert context.log_group_name == f"/aws/lambda/{function.function_name}"
    assert context.aws_request_id


def test_overrunning_handler_is_stopped_and_its_batch_retried(
    aws: AwsClients, topology: LocalTopology, tmp_path: Path
) -> None:
    send(aws, topology.queue("ingest").url, {"n": 1})
    function = environments(topology, "probe_function.slow_on_first_delivery", tmp_path)
    settings = EventSourceSettings.from_topology(topology, "ingest", workers=1)
    try:
        invocations = SqsEventSourcePoller(aws.sqs, function, settings).run_until_idle(IDLE_TIMEOUT_S)
        logs = function.logs()
    finally:
        function.close()

    assert [i.status for i in invocations] == [InvocationStatus.TIMED_OUT, InvocationStatus.RETURNED]
    assert invocations[0].stopped_at == "probe_function.py:wait_in_the_function > wait_in_the_function"
    # The first attempt never finished: Lambda stops a function at its timeout.
    steps = [json.loads(line) for line in logs.splitlines() if '"step"' in line]
    assert [(s["step"], s["attempt"]) for s in steps] == [("started", 1), ("started", 2), ("finished", 2)]


def test_fault_plan_cuts_an_invocation_off_midway(
    aws: AwsClients, topology: LocalTopology, tmp_path: Path
) -> None:
    send(aws, topology.queue("ingest").url, {"n": 1})
    function = environments(topology, "probe_function.slow_on_first_delivery", tmp_path)
    settings = EventSourceSettings.from_topology(topology, "ingest", workers=1)

    def cut_first(planned: PlannedInvocation) -> InvocationFault | None:
        return InvocationFault(cut_off_after_s=0.3) if planned.receive_counts == (1,) else None

    poller = SqsEventSourcePoller(aws.sqs, function, settings, fault_plan=cut_first)
    try:
        invocations = poller.run_until_idle(IDLE_TIMEOUT_S)
        logs = function.logs()
    finally:
        function.close()

    assert [i.status for i in invocations] == [InvocationStatus.CUT_OFF, InvocationStatus.RETURNED]
    assert function.cold_starts == 2  # the cut-off environment is gone; its batch went to a new one
    steps = [json.loads(line) for line in logs.splitlines() if '"step"' in line]
    assert [(s["step"], s["attempt"]) for s in steps] == [("started", 1), ("started", 2), ("finished", 2)]


def test_lost_response_redelivers_a_processed_batch(aws: AwsClients, topology: LocalTopology) -> None:
    message_id = send(aws, topology.queue("ingest").url, {"n": 1})
    handler = RecordingHandler()

    def lose_first(planned: PlannedInvocation) -> InvocationFault | None:
        return InvocationFault(lose_response=True) if planned.receive_counts == (1,) else None

    poller(aws, topology, handler, workers=1, fault_plan=lose_first).run_until_idle(IDLE_TIMEOUT_S)
    assert [(r["messageId"], r["attributes"]["ApproximateReceiveCount"]) for r in handler.records()] == [
        (message_id, "1"),
        (message_id, "2"),
    ]


def test_workers_invoke_concurrently(aws: AwsClients, topology: LocalTopology) -> None:
    queue = topology.queue("ingest")
    for n in range(2):
        send(aws, queue.url, {"n": n})
    # Each invocation waits for a second one to be running at the same time; alone, it times out.
    both_running = threading.Barrier(2, timeout=10)

    def rendezvous(event: dict[str, Any], context: Any) -> None:
        both_running.wait()

    settings = EventSourceSettings.from_topology(topology, "ingest", workers=2)
    one_message_batches = EventSourceSettings(
        **{**settings.__dict__, "batch_size": 1, "function_timeout_s": 15}
    )
    invocations = SqsEventSourcePoller(
        aws.sqs, InProcessFunction(rendezvous), one_message_batches
    ).run_until_idle(IDLE_TIMEOUT_S)

    assert [i.status for i in invocations] == [InvocationStatus.RETURNED] * 2


def test_fifo_records_carry_group_and_keep_order_within_a_group(
    aws: AwsClients, topology: LocalTopology
) -> None:
    queue = topology.queue("fifo_ingest")
    sent = [send(aws, queue.url, {"n": n}, MessageGroupId="image-set-1") for n in range(4)]
    handler = RecordingHandler()
    poller(aws, topology, handler, role="fifo_ingest").run_until_idle(IDLE_TIMEOUT_S)

    records = handler.records()
    assert [record["messageId"] for record in records] == sent
    assert all(record["attributes"]["MessageGroupId"] == "image-set-1" for record in records)
    # moto leaves out SequenceNumber, which real FIFO records also carry.
    assert all("MessageDeduplicationId" in record["attributes"] for record in records)


def test_idle_wait_covers_several_queues(aws: AwsClients, topology: LocalTopology) -> None:
    # A handler of the FIFO queue feeds the standard queue: idle means both are drained.
    send(aws, topology.queue("fifo_ingest").url, {"n": 1}, MessageGroupId="g")
    standard_handler = RecordingHandler()

    def forward(event: dict[str, Any], context: Any) -> None:
        for record in event["Records"]:
            aws.sqs.send_message(QueueUrl=topology.queue("ingest").url, MessageBody=record["body"])

    pollers = [poller(aws, topology, forward, role="fifo_ingest"), poller(aws, topology, standard_handler)]
    for each in pollers:
        each.start()
    try:
        wait_until_idle(pollers, IDLE_TIMEOUT_S)
    finally:
        for each in pollers:
            each.stop()
    assert [json.loads(r["body"]) for r in standard_handler.records()] == [{"n": 1}]
