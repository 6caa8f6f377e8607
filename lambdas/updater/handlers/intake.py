"""Intake function: the ingest queues (SQS submissions, and the EventBridge rules' deliveries).

Each record is admitted on its own (`updater.domain.intake`): ended at once with its outcome, or
forwarded to its image set's lane. A record whose admission met an unreachable AWS service fails
alone and comes back after a short, growing wait; when its deliveries run out, SQS moves it to the
redrive DLQ, where the finalizer ends it with a reason.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from updater.adapters.lane import LaneSends
from updater.adapters.metrics import EmfMetrics
from updater.adapters.sdk import AwsClients, calls_until
from updater.domain.admission import Admitted
from updater.domain.errors import RetryableServiceError
from updater.handlers.observability import logger, metrics
from updater.handlers.provenance import origin_of
from updater.handlers.sqs_batch import SqsRecord, partial_response, records_of, source_arn
from updater.settings import load_settings
from updater.wiring import IntakeRuntime, build_intake

_runtime: IntakeRuntime | None = None
_Response = dict[str, list[dict[str, str]]]


def runtime() -> IntakeRuntime:
    global _runtime  # noqa: PLW0603  # built once per cold start, reused while warm
    if _runtime is None:
        _runtime = build_intake(load_settings(), AwsClients.from_environment(), EmfMetrics(metrics))
    return _runtime


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, runtime())


def handle(event: dict[str, Any], context: LambdaContext, rt: IntakeRuntime) -> dict[str, Any]:
    records = records_of(event)
    metrics.add_metric(name="RecordsReceived", unit="Count", value=len(records))
    if not records:
        return {"batchItemFailures": []}
    deadline = (
        time.time() + context.get_remaining_time_in_millis() / 1000 - rt.settings.time_reserve_ms / 1000
    )

    # A standard queue's requests are forwarded together after the batch (their order is SQS's
    # best effort anyway); a FIFO queue's at once, before the next record of their group.
    sends = rt.lane.batch()
    held: dict[str, dict[str, str]] = {}  # log lines of records whose forwarding is still to come
    fifo = source_arn(records).endswith(".fifo")

    def record_handler(record: SqsRecord) -> None:
        lane = None if fifo else sends.of(record.message_id)
        try:
            with calls_until(deadline, time.time):
                body, origin = origin_of(record, rule_queue_arns=rt.rule_queue_arns, rules=rt.rules)
                admitted = rt.intake.admit(body, origin, record.content_type, lane=lane)
        except RetryableServiceError:
            metrics.add_metric(name="IntakeRetried", unit="Count", value=1)
            raise
        except Exception as err:  # a defect: the record comes back; the finalizer ends it with a reason
            # The type only: an exception's text may quote the input.
            logger.error("record failed", extra={"error": type(err).__name__})
            metrics.add_metric(name="InternalError", unit="Count", value=1)
            raise
        if sends.holds(record.message_id):
            held[record.message_id] = _admission_fields(admitted)
        else:
            logger.info("record admitted", extra=_admission_fields(admitted))

    response = partial_response(records, record_handler)
    response = _forward(sends, held, response, deadline)
    # Failed records (and, on a FIFO queue, the later records of their groups) come back soon,
    # not after the queue's visibility timeout, and later with each delivery.
    by_id = {r.message_id: r for r in records}
    failed = [
        by_id[f["itemIdentifier"]] for f in response["batchItemFailures"] if f["itemIdentifier"] in by_id
    ]
    waits = [(r.receipt_handle, _backoff(r.receive_count)) for r in failed if r.receipt_handle]
    if waits and source_arn(records):
        try:
            rt.queues.hide(source_arn(records), waits)
        except RetryableServiceError:  # they come back after the queue's visibility timeout instead
            logger.warning("could not shorten the wait of records to retry")
    return response


def _forward(
    sends: LaneSends, held: dict[str, dict[str, str]], response: _Response, deadline: float
) -> _Response:
    """Send the batch's held lane messages; a record whose message was not taken fails (it comes
    back: its entry is there and its resend is deduplicated), the others are logged admitted."""
    if not held:
        return response
    try:
        with calls_until(deadline, time.time):
            not_taken = sends.flush()
    except RetryableServiceError:
        not_taken = set(held)
    for message_id, fields in held.items():
        if message_id not in not_taken:
            logger.info("record admitted", extra=fields)
    if not_taken:
        metrics.add_metric(name="IntakeRetried", unit="Count", value=len(not_taken))
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    failed += [message_id for message_id in held if message_id in not_taken and message_id not in failed]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def _admission_fields(admitted: Admitted) -> dict[str, str]:
    """What a record's log line says: how it was admitted and with what code; for a settle notice
    also which version of which image set (ids HealthImaging's event carried and intake checked),
    so when the updater learned of a settle can be read from its logs."""
    fields = {"admission": admitted.admission.value, "code": admitted.code}
    if admitted.notice is not None:
        fields |= {
            "imageSetId": admitted.notice.lane.image_set_id,
            "versionId": admitted.notice.version_id,
            "workflowStatus": admitted.notice.workflow_status,
        }
    return fields


def _backoff(receives: int) -> int:
    return int(min(300, 2 ** min(receives, 8)))
