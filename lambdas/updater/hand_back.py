"""Where a record's turn in an invocation ends: a finished request is logged; one that must wait is
handed back to its queue as a fresh copy (receive count 1), so that waiting never uses deliveries.

Records reached after the time reserve are handed back together at the end of the batch. They come
last, one after another, inside the reserve; one SQS call each there made invocations overrun on a
loaded host (the 2,000-request soak: 1,067 of 1,238 hand-backs were for time), and an overrun loses
the batch response, so every original came back beside its copy.
"""

from __future__ import annotations

import logging
import math
import time

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import BotoCoreError, ClientError

from updater.adapters.outcomes import QueueCopy
from updater.attempt import ProcessResult
from updater.domain.errors import RetryableServiceError
from updater.domain.inbound import RejectedMessage
from updater.renewal import renewals_of
from updater.wiring import Runtime

# Errors of an AWS service the handler cannot get past now (unreachable, failing): retried by SQS.
AWS_TROUBLE = (BotoCoreError, ClientError, RetryableServiceError)
logger = logging.getLogger(__name__)


def reject(rt: Runtime, body: str, message: RejectedMessage, record: SQSRecord | None) -> None:
    rejected = rt.service.reject(body, message.failure, message.trigger, message.request_id)
    finish(rt, body, rejected, record)


def finish(
    rt: Runtime,
    body: str,
    result: ProcessResult,
    record: SQSRecord | None,
    later: list[QueueCopy] | None = None,
) -> None:
    """Logs a finished request, or hands it back: at once, or into `later` when it waits for time."""
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
    if record is None:  # a rule that targets the function directly: back through the ingest queue
        dedup = f"direct-{int(time.time())}"
        rt.requeue.requeue(rt.settings.ingest_queue_url, body, delay_s=delay, group_id=None, dedup_id=dedup)
        return
    copy = QueueCopy(
        message_id=record.message_id,
        body=body,
        receipt_handle=record.receipt_handle,
        renewals=renewals_of(record.raw_event),
        delay_s=delay,
        group_id=record.attributes.message_group_id,
        dedup_id=f"{record.message_id}-{int(time.time())}",
    )
    if later is not None and result.waiting_for == "time":
        later.append(copy)
        return
    rt.requeue.requeue(
        rt.requeue.queue_url(record.event_source_arn),
        body,
        delay_s=delay,
        group_id=copy.group_id,
        dedup_id=copy.dedup_id,
        renewals=copy.renewals,
    )


def hand_back_together(rt: Runtime, queue_arn: str, copies: list[QueueCopy]) -> set[str]:
    """Sends the copies kept for the end of the batch and deletes their originals (two calls per
    ten); returns the ids of records whose copies were not sent: the batch response fails them,
    and they come back as they are."""
    if not copies:
        return set()
    replaced: set[str] = set()
    try:
        replaced = rt.requeue.replace(rt.requeue.queue_url(queue_arn), copies)
    except AWS_TROUBLE:
        logger.warning("could not hand records back; they come back after their visibility timeout")
    logger.info("records handed back together", extra={"handed_back": len(replaced)})
    rt.metrics.count("HandedBackTogether", len(replaced))
    return {copy.message_id for copy in copies} - replaced


def receive_count(record: SQSRecord) -> int:
    return int(record.attributes.approximate_receive_count)
