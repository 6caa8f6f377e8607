"""Handlers the execution-environment tests run in worker processes; this directory is their task
root, as lambdas/ is the updater's. What they observe they print: stdout is the log stream."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

# Read at import, which is the cold start: the environment must already be the function's.
COLD_START_MARK = os.environ.get("PROBE_MARK")
_invocations = 0
print(json.dumps({"cold_start": COLD_START_MARK, "pid": os.getpid()}))


def report(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _invocations  # noqa: PLW0603  # counts invocations while the environment stays warm
    _invocations += 1
    print(
        json.dumps(
            {
                "invocation": _invocations,
                "pid": os.getpid(),
                "function_name": context.function_name,
                "memory": context.memory_limit_in_mb,
                "arn": context.invoked_function_arn,
                "remaining_ms": context.get_remaining_time_in_millis(),
                "request_id": context.aws_request_id,
                "handler": os.environ.get("_HANDLER"),
            }
        )
    )
    print("a line on stderr", file=sys.stderr)
    return {"invocation": _invocations, "pid": os.getpid(), "event": event}


def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    print(json.dumps({"step": "before", "n": event.get("n")}))
    wait_in_the_function(float(event.get("seconds", 30)))
    print(json.dumps({"step": "after", "n": event.get("n")}))
    return {}


def wait_in_the_function(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.01)


def slow_on_first_delivery(event: dict[str, Any], context: Any) -> None:
    """An SQS handler that overruns any timeout on a record's first delivery."""
    attempt = int(event["Records"][0]["attributes"]["ApproximateReceiveCount"])
    print(json.dumps({"step": "started", "attempt": attempt}))
    if attempt == 1:
        wait_in_the_function(60)
    print(json.dumps({"step": "finished", "attempt": attempt}))


def failing(event: dict[str, Any], context: Any) -> None:
    raise RuntimeError("SENTINEL-VALUE-IN-A-MESSAGE")


def exiting(event: dict[str, Any], context: Any) -> None:
    os._exit(3)


def unserialisable(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"when": object()}


def forward_to_lane(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """An intake-shaped function: every record goes on to the lane queue its environment names."""
    import boto3  # noqa: PLC0415  (only this probe talks to AWS)

    sqs = boto3.client("sqs")
    for record in event["Records"]:
        sqs.send_message(
            QueueUrl=os.environ["LANE_QUEUE_URL"],
            MessageBody=record["body"],
            MessageGroupId="one-group",
            MessageDeduplicationId=record["messageId"],
        )
    return {"batchItemFailures": []}


def record_deliveries(event: dict[str, Any], context: Any) -> dict[str, Any]:
    for record in event["Records"]:
        delivery = {
            "function": context.function_name,
            "queue": record["eventSourceARN"],
            "body": record["body"],
        }
        print(json.dumps(delivery | {"role": os.environ.get("FUNCTION_ROLE")}))
    return {"batchItemFailures": []}
