"""Sends the soak's requests the ways production traffic arrives, spread over time."""

from __future__ import annotations

import random
import time
from collections import Counter

from local.chaos_workload import ChaosRequest, Route, Workload
from local.moto_stack import AwsClients
from local.topology import LocalTopology

REQUEST_DETAIL_TYPE = "ImageSetMetadataUpdate.Requested"
CALLER_SOURCE = "chaos.soak"
CHUNK = 25


class RequestSender:
    def __init__(self, aws: AwsClients, topology: LocalTopology) -> None:
        self._aws = aws
        self._ingest = topology.queue("ingest").url
        self._fifo = topology.queue("fifo_ingest").url
        self._bus = topology.buses["requests"]
        self.deliveries: Counter[str] = Counter()

    def send(self, request: ChaosRequest) -> None:
        route = request.route
        if route in (Route.SQS, Route.SQS_TWICE, Route.BOTH_TRIGGERS):
            self._to_queue(request.body)
        if route is Route.SQS_TWICE:
            self._to_queue(request.body, delay_s=request.delay_s)
        if route in (Route.BOTH_TRIGGERS, Route.EVENTBRIDGE):
            self._to_bus(request.body)
        if route is Route.FIFO:
            self._aws.sqs.send_message(
                QueueUrl=self._fifo, MessageBody=request.body, MessageGroupId=request.image_set_id or "none"
            )
            self.deliveries["fifo_queue"] += 1

    def _to_queue(self, body: str, delay_s: int = 0) -> None:
        self._aws.sqs.send_message(QueueUrl=self._ingest, MessageBody=body, DelaySeconds=delay_s)
        self.deliveries["ingest_queue"] += 1

    def _to_bus(self, body: str) -> None:
        entry = {
            "Source": CALLER_SOURCE,
            "DetailType": REQUEST_DETAIL_TYPE,
            "Detail": body,
            "EventBusName": self._bus,
        }
        answer = self._aws.events.put_events(Entries=[entry])
        if answer.get("FailedEntryCount", 0):
            raise RuntimeError(f"PutEvents refused a soak request: {answer['Entries'][0].get('ErrorCode')}")
        self.deliveries["requests_bus"] += 1


def send_workload(
    workload: Workload, aws: AwsClients, topology: LocalTopology, rng: random.Random, *, spread_s: float
) -> dict[str, int]:
    """Sends every request in shuffled chunks spread over `spread_s`; returns deliveries by entry point."""
    sender = RequestSender(aws, topology)
    order = list(workload.requests)
    rng.shuffle(order)
    chunks = [order[start : start + CHUNK] for start in range(0, len(order), CHUNK)]
    pause = spread_s / max(1, len(chunks))
    for chunk in chunks:
        sent_at = time.monotonic()
        for request in chunk:
            sender.send(request)
            workload.send_order.append(request.key)
        time.sleep(max(0.0, pause - (time.monotonic() - sent_at)))
    return dict(sorted(sender.deliveries.items()))
