"""Lambda entry point: SQS batches (both triggers arrive through SQS) and direct EventBridge events.

Thin on purpose: classify each record, hand it to the UpdateService, and turn the result into what
SQS needs (a partial batch response, or a hand-back to the queue for requests that must wait).
"""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from updater.adapters.outcomes import QueueCopy
from updater.attempt import ProcessResult
from updater.domain.coalescing import coalesce
from updater.domain.errors import RetryableServiceError
from updater.domain.inbound import (
    IgnoredMessage,
    ImportCompletedMessage,
    InboundMessage,
    RejectedMessage,
    RequestMessage,
    classify,
)
from updater.domain.request import UpdateRequest
from updater.hand_back import AWS_TROUBLE, finish, hand_back_together, receive_count, reject
from updater.kept_back import last_deliveries
from updater.settings import load_settings
from updater.wiring import AwsClients, Runtime, build_runtime

STANDARD_INLINE_WAIT_S = 1.5  # a standard queue's hand-back comes back on time (whole-second delays)
FIFO_INLINE_WAIT_S = 30.0
logger = Logger()
# The import reaction logs through stdlib logging ("updater.imports.*"): same JSON format and level.
copy_config_to_registered_loggers(source_logger=logger, include={"updater"})
metrics = Metrics()
tracer = Tracer()
_runtime: Runtime | None = None


class TransientFailure(Exception):
    """Raised for a record SQS should deliver again after its visibility timeout."""


class PowertoolsMetricsSink:
    def __init__(self, target: Metrics) -> None:
        self._metrics = target

    def count(self, name: str, value: float = 1, reason: str | None = None) -> None:
        if reason is None:
            self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
            return
        with single_metric(
            name=name, unit=MetricUnit.Count, value=value, namespace=self._metrics.namespace
        ) as one:
            one.add_dimension(name="reason", value=reason)

    def observe(self, name: str, value: float, unit: str) -> None:
        self._metrics.add_metric(name=name, unit=MetricUnit(unit), value=value)


def runtime() -> Runtime:
    global _runtime  # noqa: PLW0603  # built once per cold start, reused while warm
    if _runtime is None:
        _runtime = build_runtime(
            load_settings(), AwsClients.from_environment(), PowertoolsMetricsSink(metrics)
        )
    return _runtime


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, runtime())


def handle(event: dict[str, Any], context: LambdaContext, rt: Runtime) -> dict[str, Any]:
    deadline = time.time() + context.get_remaining_time_in_millis() / 1000
    owner = context.aws_request_id
    # Every invocation emits at least this one metric (an empty EMF flush is a warning in Powertools).
    metrics.add_metric(name="RecordsReceived", unit=MetricUnit.Count, value=len(event.get("Records", [1])))
    if "Records" not in event:  # a rule that targets the function directly
        body = json.dumps(event)
        _handle_message(rt, body, classify(body), deadline, owner, record=None)
        return {}
    messages = {record["messageId"]: classify(record["body"]) for record in event["Records"]}
    failed: set[str] = set()  # records whose early work met an unreachable AWS service
    done = last_deliveries(rt, event["Records"], messages, deadline, owner, failed)
    live = [record for record in event["Records"] if record["messageId"] not in done | failed]
    settled = _process_coalesced(rt, live, messages, deadline, owner, failed)
    later: list[QueueCopy] = []  # hand-backs for time, sent together at the end

    def record_handler(record: SQSRecord) -> None:
        if record.message_id in failed:
            raise TransientFailure("an AWS service was unreachable; SQS will deliver the record again")
        if record.message_id in done:
            return
        message = messages[record.message_id]
        if record.message_id in settled:
            _after_process(rt, record.body, message, settled[record.message_id], owner, record, later)
            return
        _handle_message(
            rt, record.body, message, deadline, f"{owner}/{record.message_id}", record=record, later=later
        )

    # A batch whose every record failed is still a partial batch response, not an exception: the same
    # records come back either way, and the invocation does not count as a Lambda error. One processor
    # per invocation: it keeps the batch's records and failures, and a shared one mixes up concurrent
    # invocations of one process (the local stack's workers) into failures naming other batches' ids.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    unsent = hand_back_together(rt, event["Records"][0]["eventSourceARN"], later) if later else set()
    failures = [*response["batchItemFailures"], *({"itemIdentifier": i} for i in sorted(unsent))]
    return {**response, "batchItemFailures": failures}


def _process_coalesced(
    rt: Runtime,
    records: list[dict[str, Any]],
    messages: dict[str, InboundMessage],
    deadline: float,
    owner: str,
    failed: set[str],
) -> dict[str, ProcessResult]:
    """Runs the batch's coalescible requests as shared calls; returns results by message id."""
    by_request: dict[str, list[str]] = {}
    requests: list[UpdateRequest] = []
    bodies: dict[str, str] = {}
    for record in records:
        message = messages[record["messageId"]]
        if isinstance(message, RequestMessage):
            request = message.request
            if request.request_id not in by_request:  # a duplicate delivery rides on the first copy
                requests.append(request)
                bodies[request.request_id] = record["body"]
            by_request.setdefault(request.request_id, []).append(record["messageId"])
    fifo = bool(records) and str(records[0].get("eventSourceARN", "")).endswith(".fifo")
    results: dict[str, ProcessResult] = {}
    for group in coalesce(requests, ordered=fifo, payload_limit=rt.settings.payload_limit_bytes):
        if not group.coalesced:
            continue
        trigger = "eventbridge" if '"detail-type"' in bodies[group.members[0].request_id] else "sqs"
        try:
            group_results = rt.groups.process(
                group,
                bodies=bodies,
                trigger=trigger,
                deadline_s=deadline,
                owner=f"{owner}/group",
                inline_wait_s=FIFO_INLINE_WAIT_S if fifo else STANDARD_INLINE_WAIT_S,
            )
        except AWS_TROUBLE:  # the ledger says how far it got; its records come back
            logger.warning("a coalesced call met an unreachable AWS service")
            failed.update(m for member in group.members for m in by_request[member.request_id])
            continue
        for request_id, result in group_results.items():
            for message_id in by_request[request_id]:
                results[message_id] = result
    return results


def _handle_message(
    rt: Runtime,
    body: str,
    message: InboundMessage,
    deadline: float,
    owner: str,
    record: SQSRecord | None,
    later: list[QueueCopy] | None = None,
) -> None:
    if isinstance(message, IgnoredMessage):
        logger.info("ignored message", extra={"reason": message.reason})
        metrics.add_metric(name="Ignored", unit=MetricUnit.Count, value=1)
        return
    if isinstance(message, ImportCompletedMessage):
        last = record is None or receive_count(record) >= rt.settings.max_receive_count
        try:
            summary = rt.react_to_import(message.envelope, last_delivery=last)
        except RetryableServiceError as err:
            raise TransientFailure("import reaction failed; SQS will deliver the event again") from err
        logger.info("import completed event handled", extra={"summary": summary})
        return
    if isinstance(message, RejectedMessage):
        reject(rt, body, message, record)
        return
    request = message.request
    logger.append_keys(request_id=request.request_id, image_set_id=request.image_set_id)
    # A FIFO hand-back cannot be delayed (SQS has no per-message delay there): wait for the slot here.
    fifo = record is not None and record.attributes.message_group_id is not None
    result = rt.service.process(
        request,
        body=body,
        trigger=message.trigger,
        deadline_s=deadline,
        owner=owner,
        inline_wait_s=FIFO_INLINE_WAIT_S if fifo else STANDARD_INLINE_WAIT_S,
    )
    _after_process(rt, body, message, result, owner, record, later)


def _after_process(
    rt: Runtime,
    body: str,
    message: InboundMessage,
    result: ProcessResult,
    owner: str,
    record: SQSRecord | None,
    later: list[QueueCopy] | None = None,
) -> None:
    if result.waiting_for == "transient" and isinstance(message, RequestMessage):
        if record is not None and receive_count(record) < rt.settings.max_receive_count:
            raise TransientFailure("transient failure; SQS will deliver the record again")
        logger.warning("transient failures used up the deliveries")
        result = rt.service.give_up(message.request, body=body, trigger=message.trigger, owner=owner)
    finish(rt, body, result, record, later)
