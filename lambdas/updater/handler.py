"""Lambda entry point: SQS batches (both triggers arrive through SQS) and direct EventBridge events.

Thin on purpose: classify each record, hand it to the UpdateService, and turn the result into what
SQS needs (a partial batch response, or a hand-back to the queue for requests that must wait).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from updater.adapters.outcomes import Renewal
from updater.attempt import ProcessResult
from updater.coalescing import coalesce
from updater.inbound import (
    IgnoredMessage,
    ImportCompletedMessage,
    InboundMessage,
    RejectedMessage,
    RequestMessage,
    classify,
)
from updater.renewal import last_delivery, renewals_of
from updater.request import UpdateRequest
from updater.service_errors import RetryableServiceError
from updater.settings import load_settings
from updater.wiring import AwsClients, Runtime, build_runtime

# Errors of an AWS service the handler cannot get past now (unreachable, failing): retried by SQS.
AWS_TROUBLE = (BotoCoreError, ClientError, RetryableServiceError)
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
    done = _last_deliveries(rt, event["Records"], messages, deadline, owner, failed)
    live = [record for record in event["Records"] if record["messageId"] not in done | failed]
    settled = _process_coalesced(rt, live, messages, deadline, owner, failed)

    def record_handler(record: SQSRecord) -> None:
        if record.message_id in failed:
            raise TransientFailure("an AWS service was unreachable; SQS will deliver the record again")
        if record.message_id in done:
            return
        message = messages[record.message_id]
        if record.message_id in settled:
            _after_process(rt, record.body, message, settled[record.message_id], owner, record)
            return
        _handle_message(rt, record.body, message, deadline, f"{owner}/{record.message_id}", record=record)

    # A batch whose every record failed is still a partial batch response, not an exception: the same
    # records come back either way, and the invocation does not count as a Lambda error. One processor
    # per invocation: it keeps the batch's records and failures, and a shared one mixes up concurrent
    # invocations of one process (the local stack's workers) into failures naming other batches' ids.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)


def _last_deliveries(
    rt: Runtime,
    records: list[dict[str, Any]],
    messages: dict[str, InboundMessage],
    deadline: float,
    owner: str,
    failed: set[str],
) -> set[str]:
    """Renews messages on their last deliveries (and ends requests out of renewals) before any work;
    returns the ids of the records this dealt with. Bad inputs and import events are renewed too: a
    batch that keeps timing out takes them down with it, and SQS would move them to the DLQ without
    their reason."""
    renew: list[Renewal] = []
    to_end: list[tuple[dict[str, Any], RequestMessage | RejectedMessage]] = []
    for record in records:
        message = messages[record["messageId"]]
        if isinstance(message, IgnoredMessage):
            continue
        decision = last_delivery(record, max_receive_count=rt.settings.max_receive_count)
        if decision.renew:
            renewals = renewals_of(record) + 1
            renew.append(Renewal(record["messageId"], record["body"], record["receiptHandle"], renewals))
        elif decision.end and isinstance(message, RequestMessage | RejectedMessage):
            to_end.append((record, message))
    dealt_with: set[str] = set()
    if renew:  # first: two calls for the whole batch, before anything slower
        try:
            dealt_with = rt.requeue.renew(rt.requeue.queue_url(records[0]["eventSourceARN"]), renew)
        except AWS_TROUBLE:
            logger.warning("could not renew last deliveries; they come back")
        failed.update(r.message_id for r in renew if r.message_id not in dealt_with)
        logger.warning("last deliveries renewed", extra={"renewed": len(dealt_with)})
        metrics.add_metric(name="DeliveriesRenewed", unit=MetricUnit.Count, value=len(dealt_with))
    dealt_with.update(_end_all(rt, to_end, deadline, owner, failed))
    return dealt_with


def _end_all(
    rt: Runtime,
    to_end: list[tuple[dict[str, Any], RequestMessage | RejectedMessage]],
    deadline: float,
    owner: str,
    failed: set[str],
) -> set[str]:
    """Ends kept-back records one by one, each deleted as soon as it has ended: a FIFO batch can
    hold many, and one invocation that overruns while ending them must not take back the ones
    already ended. The most-received go first (their next delivery may be SQS's redrive); those
    the time reserve does not leave room for come back on a later delivery."""
    reserve_s = rt.settings.time_reserve_ms / 1000
    ended: set[str] = set()
    for record, message in sorted(to_end, key=lambda pair: -_receive_count(SQSRecord(pair[0]))):
        if time.time() > deadline - reserve_s:
            failed.add(record["messageId"])
        elif _end(rt, record, message, owner, failed):
            _delete_now(rt, [record])
            ended.add(record["messageId"])
    return ended


def _end(
    rt: Runtime,
    record: dict[str, Any],
    message: RequestMessage | RejectedMessage,
    owner: str,
    failed: set[str],
) -> bool:
    """Ends the message's request on a kept-back delivery (FIFO, or out of renewals); False if an
    AWS service was unreachable (the record comes back)."""
    try:
        if isinstance(message, RejectedMessage):
            _reject(rt, record["body"], message, SQSRecord(record))
        else:
            logger.warning("deliveries used up", extra={"request_id": message.request.request_id})
            result = rt.service.give_up(
                message.request,
                body=record["body"],
                trigger=message.trigger,
                owner=owner,
                reason="no delivery finished: invocations timed out, crashed or failed transiently",
            )
            _finish(rt, record["body"], result, SQSRecord(record))
    except AWS_TROUBLE:
        logger.warning("could not end a request out of deliveries; it comes back")
        failed.add(record["messageId"])
        return False
    return True


def _delete_now(rt: Runtime, records: list[dict[str, Any]]) -> None:
    """An ended record is deleted at once: if the rest of the batch overruns, the batch response
    never reaches SQS, and a record on its last delivery would be moved to the DLQ by SQS's redrive,
    without its reason, next to the record the updater put there."""
    if not records:
        return
    try:
        queue_url = rt.requeue.queue_url(records[0]["eventSourceARN"])
        rt.requeue.delete(queue_url, [record["receiptHandle"] for record in records])
    except AWS_TROUBLE:
        logger.warning("could not delete ended records now; the batch response deletes them")


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
    rt: Runtime, body: str, message: InboundMessage, deadline: float, owner: str, record: SQSRecord | None
) -> None:
    if isinstance(message, IgnoredMessage):
        logger.info("ignored message", extra={"reason": message.reason})
        metrics.add_metric(name="Ignored", unit=MetricUnit.Count, value=1)
        return
    if isinstance(message, ImportCompletedMessage):
        last = record is None or _receive_count(record) >= rt.settings.max_receive_count
        try:
            summary = rt.react_to_import(message.envelope, last_delivery=last)
        except RetryableServiceError as err:
            raise TransientFailure("import reaction failed; SQS will deliver the event again") from err
        logger.info("import completed event handled", extra={"summary": summary})
        return
    if isinstance(message, RejectedMessage):
        _reject(rt, body, message, record)
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
    _after_process(rt, body, message, result, owner, record)


def _reject(rt: Runtime, body: str, message: RejectedMessage, record: SQSRecord | None) -> None:
    rejected = rt.service.reject(body, message.failure, message.trigger, message.request_id)
    _finish(rt, body, rejected, record)


def _after_process(
    rt: Runtime,
    body: str,
    message: InboundMessage,
    result: ProcessResult,
    owner: str,
    record: SQSRecord | None,
) -> None:
    if result.waiting_for == "transient" and isinstance(message, RequestMessage):
        if record is not None and _receive_count(record) < rt.settings.max_receive_count:
            raise TransientFailure("transient failure; SQS will deliver the record again")
        logger.warning("transient failures used up the deliveries")
        result = rt.service.give_up(message.request, body=body, trigger=message.trigger, owner=owner)
    _finish(rt, body, result, record)


def _receive_count(record: SQSRecord) -> int:
    return int(record.attributes.approximate_receive_count)


def _finish(rt: Runtime, body: str, result: ProcessResult, record: SQSRecord | None) -> None:
    if result.outcome is not None:
        logger.info(
            "request finished", extra={"outcome": result.outcome.model_dump(mode="json", by_alias=True)}
        )
        return
    wait = result.retry_after_s or 0.0
    # Back just before a reserved pacing slot (the last moments are waited in the invocation);
    # any other wait is rounded up, past the lease or settle it waits for.
    delay = math.floor(wait) if result.waiting_for == "token" else math.ceil(wait) + 1
    logger.info("request handed back", extra={"waiting_for": result.waiting_for, "delay_s": delay})
    group = record.attributes.message_group_id if record else None
    queue_url = rt.requeue.queue_url(record.event_source_arn) if record else rt.settings.ingest_queue_url
    dedup = f"{record.message_id if record else 'direct'}-{int(time.time())}"
    renewals = renewals_of(record.raw_event) if record else 0
    rt.requeue.requeue(queue_url, body, delay_s=delay, group_id=group, dedup_id=dedup, renewals=renewals)
