"""A stack of several functions runs as the template says: each mapping invokes its own function,
each function has its own environment and execution environments (the lane design's three)."""

from __future__ import annotations

import json
import uuid

from local.moto_stack import AwsClients
from local.stack import LocalStack, LocalStackOptions
from local.topology import create_topology
from tests.local.stack.handwritten_stack import three_function_stack_resources


def test_the_topology_has_every_function_and_each_mapping_names_its_own(aws: AwsClients) -> None:
    topology = create_topology(three_function_stack_resources(), aws, name_prefix=f"t{uuid.uuid4().hex[:8]}-")

    assert sorted(f.function_name for f in topology.functions.values()) == [
        "svc-dev-apply",
        "svc-dev-finalize",
        "svc-dev-intake",
    ]
    invoked = {
        m.queue_role: topology.functions[m.function_id].function_name for m in topology.event_source_mappings
    }
    assert invoked == {
        "ingest": "svc-dev-intake",
        "fifo_ingest": "svc-dev-intake",
        "fifo_lane": "svc-dev-apply",
        "ingest_dlq": "svc-dev-finalize",
    }
    assert topology.function_of("ingest").environment["LANE_QUEUE_URL"] == topology.queue("fifo_lane").url
    assert "LANE_QUEUE_URL" not in topology.function_of("fifo_lane").environment
    assert topology.queue("fifo_lane").dead_letter_queue_arn == topology.queue("fifo_lane_dlq").arn


def test_records_flow_from_one_function_to_the_next_through_their_own_pollers() -> None:
    options = LocalStackOptions(
        stack_resources=three_function_stack_resources(),
        name_prefix=f"three{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=5,
        workers=1,
    )
    with LocalStack(options) as stack:
        assert stack.topology is not None
        stack.aws.sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody='{"n": 1}')
        stack.aws.sqs.send_message(
            QueueUrl=stack.topology.queue("fifo_ingest").url, MessageBody='{"n": 2}', MessageGroupId="g"
        )
        stack.run_until_idle(60)
        applied = [
            json.loads(line) for line in stack.function_logs("svc-dev-apply").splitlines() if '"role"' in line
        ]
        invoked = {r.function_name for r in stack.invocations()}

    assert sorted(json.loads(d["body"])["n"] for d in applied) == [1, 2]
    assert {(d["function"], d["role"]) for d in applied} == {("svc-dev-apply", "apply")}
    assert {d["queue"] for d in applied} == {stack.topology.queue("fifo_lane").arn}
    assert invoked == {"svc-dev-intake", "svc-dev-apply"}
