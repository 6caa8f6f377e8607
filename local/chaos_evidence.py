"""What the soak reads back once traffic has drained: outcome events, failure records and whatever
the DLQs hold (with their attributes), the ledger, each image set's version history and the depths
of the queues work waits on."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from local.event_source import InvocationRecord
from local.moto_stack import AwsClients
from local.topology import LocalTopology

# Where work waits (the ingest queues, the lane) and where SQS gives up on it (drained by the finalizer).
WORK_ROLES = (
    "ingest", "fifo_ingest", "rules", "fifo_lane",
    "ingest_dlq", "fifo_ingest_dlq", "rules_dlq", "fifo_lane_dlq",
)  # fmt: skip
FAILURES_ROLE = "failures"
DEPTH_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@dataclass(frozen=True)
class DeadLetter:
    queue_role: str  # `failures` for explained failures; any other role is a message left in a DLQ
    body: str
    attributes: dict[str, str]  # message attributes (failureCode, failureMessage, requestId)


@dataclass(frozen=True)
class VersionRecord:
    version_id: str
    workflow_status: str
    settle_s: float
    document: dict[str, Any]


@dataclass
class Evidence:
    outcome_events: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    ledger: dict[str, dict[str, Any]] = field(default_factory=dict)  # pk -> item (plain values)
    histories: dict[str, list[VersionRecord]] = field(default_factory=dict)
    queue_depths: dict[str, int] = field(default_factory=dict)
    invocations: list[InvocationRecord] = field(default_factory=list)
    handler_output: str = ""
    drained_in_time: bool = True

    def outcomes(self) -> list[dict[str, Any]]:
        return [event["detail"] for event in self.outcome_events if "requestId" in event.get("detail", {})]


def receive_all(aws: AwsClients, queue_url: str) -> list[dict[str, Any]]:
    """Every message of a queue (deleted as read), with its message attributes."""
    messages: list[dict[str, Any]] = []
    while batch := aws.sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        messages.extend(batch)
        aws.sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    return messages


def dead_letters(aws: AwsClients, topology: LocalTopology) -> list[DeadLetter]:
    letters = []
    for role in sorted(topology.queues):
        if role != FAILURES_ROLE and not role.endswith("_dlq"):
            continue
        for message in receive_all(aws, topology.queue(role).url):
            attributes = {
                name: str(value.get("StringValue", ""))
                for name, value in message.get("MessageAttributes", {}).items()
            }
            letters.append(DeadLetter(role, message["Body"], attributes))
    return letters


def ledger_items(dynamodb: Any, table_name: str) -> dict[str, dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table_name, ConsistentRead=True):
        for item in page["Items"]:
            items[item["pk"]["S"]] = {name: next(iter(value.values())) for name, value in item.items()}
    return items


def queue_depths(aws: AwsClients, topology: LocalTopology) -> dict[str, int]:
    depths = {}
    for role in WORK_ROLES:
        attributes = aws.sqs.get_queue_attributes(
            QueueUrl=topology.queue(role).url, AttributeNames=list(DEPTH_ATTRIBUTES)
        )["Attributes"]
        depths[role] = sum(int(attributes.get(name, 0)) for name in DEPTH_ATTRIBUTES)
    return depths


def version_histories(
    service: Any, datastore_id: str, image_set_ids: Iterable[str]
) -> dict[str, list[VersionRecord]]:
    histories = {}
    for image_set_id in image_set_ids:
        histories[image_set_id] = [
            VersionRecord(v.version_id, v.workflow_status, v.updated_at - v.created_at, v.document)
            for v in service.version_history(datastore_id, image_set_id)
        ]
    return histories


def collect(
    aws: AwsClients,
    topology: LocalTopology,
    service: Any,
    datastore_id: str,
    image_set_ids: Iterable[str],
) -> Evidence:
    return Evidence(
        queue_depths=queue_depths(aws, topology),
        outcome_events=[
            json.loads(m["Body"]) for m in receive_all(aws, topology.queue("outcome_capture").url)
        ],
        dead_letters=dead_letters(aws, topology),
        ledger=ledger_items(aws.dynamodb, topology.table_name),
        histories=version_histories(service, datastore_id, image_set_ids),
    )
