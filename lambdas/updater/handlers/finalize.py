"""Finalize function: consumes the redrive DLQs of the ingest queues and of the lane.

Every message there gets its terminal outcome (`updater.domain.finalize`): an outcome event, and
for a failure a record with its reason on the failures queue. Which DLQ a record came from decides
how it is read, never its body. A record the finalizer cannot end fails and is retried; after its
own deliveries it lands in the finalizer's DLQ, the one alarm that means something was lost.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from updater.adapters.metrics import EmfMetrics
from updater.adapters.sdk import AwsClients, calls_until
from updater.domain.errors import FailureCode, RetryableServiceError, ValidationFailure
from updater.domain.finalize import ImportGiveUp
from updater.domain.inbound import RejectedMessage
from updater.domain.lane_message import LaneDelivery, LaneMessage, LaneMessageInvalid
from updater.handlers.observability import logger, metrics
from updater.handlers.provenance import origin_of
from updater.handlers.sqs_batch import SqsRecord, partial_response, records_of
from updater.settings import load_settings
from updater.wiring import FinalizeRuntime, build_finalize

_runtime: FinalizeRuntime | None = None


def runtime() -> FinalizeRuntime:
    global _runtime  # noqa: PLW0603  # built once per cold start, reused while warm
    if _runtime is None:
        _runtime = build_finalize(load_settings(), AwsClients.from_environment(), EmfMetrics(metrics))
    return _runtime


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, runtime())


def handle(event: dict[str, Any], context: LambdaContext, rt: FinalizeRuntime) -> dict[str, Any]:
    records = records_of(event)
    metrics.add_metric(name="RecordsReceived", unit="Count", value=len(records))
    if not records:
        return {"batchItemFailures": []}
    deadline = (
        time.time() + context.get_remaining_time_in_millis() / 1000 - rt.settings.time_reserve_ms / 1000
    )

    def record_handler(record: SqsRecord) -> None:
        try:
            with calls_until(deadline, time.time):
                if record.event_source_arn == rt.settings.lane_dlq_arn:
                    _lane_record(rt, record)
                else:
                    _ingest_record(rt, record)
        except RetryableServiceError:
            raise
        except Exception as err:  # a defect: after its deliveries, the finalizer's DLQ pages
            logger.error("record failed", extra={"error": type(err).__name__})  # its text may quote input
            metrics.add_metric(name="InternalError", unit="Count", value=1)
            raise
        metrics.add_metric(name="Finalized", unit="Count", value=1)

    return partial_response(records, record_handler)


def _lane_record(rt: FinalizeRuntime, record: SqsRecord) -> None:
    body = record.body
    try:
        message = LaneMessage.parse(body)
    except LaneMessageInvalid:
        failure = ValidationFailure(FailureCode.INTERNAL_ERROR, "lane", "the lane message is unreadable")
        rt.finalizer.reject(body, RejectedMessage(failure, "sqs"))
        return
    outcome = rt.finalizer.lane_message(LaneDelivery(record.message_id, message, record.receive_count))
    logger.info("lane message finalized", extra={"status": outcome.status.value, "code": outcome.error_code})


def _ingest_record(rt: FinalizeRuntime, record: SqsRecord) -> None:
    body, origin = origin_of(record, rule_queue_arns=rt.rule_queue_arns, rules=rt.rules)
    result = rt.finalizer.intake_message(body, origin, record.content_type)
    if isinstance(result, ImportGiveUp):
        rt.imports.give_up(result.envelope)
        logger.info("import event finalized")
    elif result is not None:
        logger.info(
            "ingest message finalized", extra={"status": result.status.value, "code": result.error_code}
        )
