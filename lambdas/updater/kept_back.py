"""Records on their kept-back deliveries (see `updater.renewal`), dealt with before any other work:
renewed as fresh copies, or their requests ended with RETRIES_EXHAUSTED."""

from __future__ import annotations

import logging
import time
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from updater.adapters.outcomes import QueueCopy
from updater.domain.inbound import IgnoredMessage, InboundMessage, RejectedMessage, RequestMessage
from updater.hand_back import AWS_TROUBLE, finish, receive_count, reject
from updater.renewal import last_delivery, renewals_of
from updater.wiring import Runtime

logger = logging.getLogger(__name__)
KeptBack = tuple[dict[str, Any], RequestMessage | RejectedMessage]


def last_deliveries(
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
    renew: list[QueueCopy] = []
    to_end: list[KeptBack] = []
    for record in records:
        message = messages[record["messageId"]]
        if isinstance(message, IgnoredMessage):
            continue
        decision = last_delivery(record, max_receive_count=rt.settings.max_receive_count)
        if decision.renew:
            renewals = renewals_of(record) + 1
            renew.append(QueueCopy(record["messageId"], record["body"], record["receiptHandle"], renewals))
        elif decision.end and isinstance(message, RequestMessage | RejectedMessage):
            to_end.append((record, message))
    dealt_with: set[str] = set()
    if renew:  # first: two calls for the whole batch, before anything slower
        try:
            dealt_with = rt.requeue.replace(rt.requeue.queue_url(records[0]["eventSourceARN"]), renew)
        except AWS_TROUBLE:
            logger.warning("could not renew last deliveries; they come back")
        failed.update(r.message_id for r in renew if r.message_id not in dealt_with)
        logger.warning("last deliveries renewed", extra={"renewed": len(dealt_with)})
        rt.metrics.count("DeliveriesRenewed", len(dealt_with))
    dealt_with.update(_end_all(rt, to_end, deadline, owner, failed))
    return dealt_with


def _end_all(rt: Runtime, to_end: list[KeptBack], deadline: float, owner: str, failed: set[str]) -> set[str]:
    """Ends kept-back records one by one, each deleted as soon as it has ended: a FIFO batch can
    hold many, and one invocation that overruns while ending them must not take back the ones
    already ended. The most-received go first (their next delivery may be SQS's redrive); those
    the time reserve does not leave room for come back on a later delivery."""
    reserve_s = rt.settings.time_reserve_ms / 1000
    ended: set[str] = set()
    for record, message in sorted(to_end, key=lambda pair: -receive_count(SQSRecord(pair[0]))):
        if time.time() > deadline - reserve_s:
            failed.add(record["messageId"])
        elif _end(rt, record, message, owner, failed):
            _delete_now(rt, record)
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
            reject(rt, record["body"], message, SQSRecord(record))
        else:
            logger.warning("deliveries used up", extra={"request_id": message.request.request_id})
            result = rt.service.give_up(
                message.request,
                body=record["body"],
                trigger=message.trigger,
                owner=owner,
                reason="no delivery finished: invocations timed out, crashed or failed transiently",
            )
            finish(rt, record["body"], result, SQSRecord(record))
    except AWS_TROUBLE:
        logger.warning("could not end a request out of deliveries; it comes back")
        failed.add(record["messageId"])
        return False
    return True


def _delete_now(rt: Runtime, record: dict[str, Any]) -> None:
    """An ended record is deleted at once: if the rest of the batch overruns, the batch response
    never reaches SQS, and a record on its last delivery would be moved to the DLQ by SQS's redrive,
    without its reason, next to the record the updater put there."""
    try:
        queue_url = rt.requeue.queue_url(record["eventSourceARN"])
        rt.requeue.delete(queue_url, [record["receiptHandle"]])
    except AWS_TROUBLE:
        logger.warning("could not delete an ended record now; the batch response deletes it")
