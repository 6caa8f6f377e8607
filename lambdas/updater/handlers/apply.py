"""Apply function: consumes the lane; the only function allowed to call UpdateImageSetMetadata.

A lane batch holds messages of several image sets (FIFO groups), each group's in order. The first
record of a group runs one step for all of that group's records (`LaneSteps.advance`); records that
must wait fail in the partial batch response and are hidden for their wait, which keeps the group
blocked: nothing of that image set is delivered until its head comes back. Powertools' FIFO
processor fails the rest of a group after a failed record, so a later request never overtakes an
earlier one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from updater.adapters.metrics import EmfMetrics
from updater.adapters.sdk import AwsClients, calls_until
from updater.domain.errors import FailureCode, RetryableServiceError, ValidationFailure
from updater.domain.lane_message import LaneDelivery, LaneMessage, LaneMessageInvalid
from updater.domain.ledger import LaneKey
from updater.domain.outcome import body_request_id, rejection
from updater.domain.step_results import settle_wait
from updater.domain.steps import StepResult, Wait, WaitReason
from updater.handlers.observability import logger, metrics
from updater.handlers.sqs_batch import SqsRecord, partial_response, records_of, source_arn
from updater.settings import load_settings
from updater.wiring import ApplyRuntime, build_apply

_runtime: ApplyRuntime | None = None


class Waiting(Exception):
    """A record whose request waits: it fails in the batch response and is hidden for `wait`."""

    def __init__(self, wait: Wait) -> None:
        super().__init__(wait.reason.value)
        self.wait = wait


def runtime() -> ApplyRuntime:
    global _runtime  # noqa: PLW0603  # built once per cold start, reused while warm
    if _runtime is None:
        _runtime = build_apply(load_settings(), AwsClients.from_environment(), EmfMetrics(metrics))
    return _runtime


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, runtime())


def handle(event: dict[str, Any], context: LambdaContext, rt: ApplyRuntime) -> dict[str, Any]:
    records = records_of(event)
    metrics.add_metric(name="RecordsReceived", unit="Count", value=len(records))
    if not records:
        return {"batchItemFailures": []}
    deadline = time.time() + context.get_remaining_time_in_millis() / 1000
    batch = _LaneBatch(rt, records, deadline)
    response = partial_response(records, batch.step)
    batch.hide_failed(response["batchItemFailures"])
    return response


def _backoff(receives: int) -> int:
    """2, 4, 8 ... 60 s with the deliveries a message has had."""
    return int(min(60, 2 ** min(receives, 6)))


def _label(result: StepResult) -> str:
    if isinstance(result, Wait):
        return f"wait {result.reason.value} {result.visibility_s}s"
    return f"{result.outcome.status.value} {result.outcome.error_code or ''}".strip()


class _LaneBatch:
    def __init__(self, rt: ApplyRuntime, records: list[SqsRecord], deadline_s: float) -> None:
        self._rt = rt
        self._records = {r.message_id: r for r in records}
        self._deadline = deadline_s
        self._groups: dict[str, list[LaneDelivery]] = {}
        self._group_of: dict[str, str] = {}
        self._unreadable: set[str] = set()
        for record in self._records.values():
            self._add(record)
        self._results: dict[str, StepResult] = {}
        self._group_waits: dict[str, Wait] = {}

    def _add(self, record: SqsRecord) -> None:
        try:
            message = LaneMessage.parse(record.body)
        except LaneMessageInvalid:
            self._unreadable.add(record.message_id)
            return
        group = record.message_group_id or message.group_id
        self._group_of[record.message_id] = group
        delivery = LaneDelivery(record.message_id, message, record.receive_count)
        self._groups.setdefault(group, []).append(delivery)

    def step(self, record: SqsRecord) -> None:
        message_id = record.message_id
        if message_id in self._unreadable:
            self._end_unreadable(record)
            return
        if message_id not in self._results:
            self._advance(self._groups[self._group_of[message_id]])
        result = self._results[message_id]
        if isinstance(result, Wait):
            self._group_waits.setdefault(self._group_of[message_id], result)
            raise Waiting(result)

    def _advance(self, deliveries: Sequence[LaneDelivery]) -> None:
        by_lane: dict[Any, list[LaneDelivery]] = {}
        for delivery in deliveries:
            by_lane.setdefault(delivery.message.lane, []).append(delivery)
        for lane, own in by_lane.items():
            try:
                with calls_until(self._deadline - self._rt.settings.time_reserve_ms / 2000, time.time):
                    results = self._rt.steps.advance(lane, own, self._deadline)
                self._results.update(results)
                logger.info(
                    "lane step",
                    extra={
                        "imageSetId": lane.image_set_id,
                        "steps": [[d.request.request_id, _label(results[d.message_id])] for d in own],
                    },
                )
            except RetryableServiceError:  # the ledger, SQS or EventBridge unreachable mid-step
                metrics.add_metric(name="TransientError", unit="Count", value=1)
                self._wait_all(own, WaitReason.TRANSIENT)
            except Exception as err:  # a defect: the record comes back; its deliveries are bounded
                logger.error("lane step failed", extra={"error": type(err).__name__})
                metrics.add_metric(name="InternalError", unit="Count", value=1)
                self._wait_all(own, WaitReason.TRANSIENT)

    def _wait_all(self, deliveries: Sequence[LaneDelivery], reason: WaitReason) -> None:
        wait = Wait(float(_backoff(max(d.receive_count for d in deliveries))), reason)
        for delivery in deliveries:
            self._results.setdefault(delivery.message_id, wait)

    def _end_unreadable(self, record: SqsRecord) -> None:
        """Only intake sends to the lane; anything else there ends at once, keyed by its content."""
        body = record.body
        failure = ValidationFailure(FailureCode.INTERNAL_ERROR, "lane", "the lane message is unreadable")
        self._rt.recorder.finish(rejection(body_request_id(body), "sqs", failure), body)

    def hide_failed(self, failures: Sequence[Mapping[str, object]]) -> None:
        """Each failed record waits its own wait; records skipped behind a group's waiting head
        wait with it (shorter would only bring them back blocked)."""
        waits: list[tuple[str, int]] = []
        for failure in failures:
            message_id = str(failure["itemIdentifier"])
            record = self._records.get(message_id)
            if record is None:
                continue
            result = self._results.get(message_id)
            wait = (
                result
                if isinstance(result, Wait)
                else self._group_waits.get(self._group_of.get(message_id, ""))
            )
            # No step result: the record failed in a way no step decided (a defect): back off.
            seconds = (
                wait.visibility_at(self._rt.clock.now())
                if wait is not None
                else _backoff(record.receive_count)
            )
            if record.receipt_handle:
                waits.append((record.receipt_handle, seconds))
            metrics.add_metric(name="Waits", unit="Count", value=1)
        queue_arn = source_arn(list(self._records.values()))
        if not waits or not queue_arn:
            return
        try:
            self._rt.queues.hide(queue_arn, waits)
        except RetryableServiceError:  # they come back after the lane's visibility timeout instead
            logger.warning("could not hide waiting records")
            return
        self._await_notices(queue_arn, {message_id for message_id, _ in self._failed_ids(failures)})

    def _failed_ids(self, failures: Sequence[Mapping[str, object]]) -> list[tuple[str, str]]:
        ids = (str(f["itemIdentifier"]) for f in failures)
        return [(i, self._records[i].receipt_handle) for i in ids if i in self._records]

    def _await_notices(self, queue_arn: str, failed: set[str]) -> None:
        """Lanes waiting for a settle register their hidden messages for the notice, after hiding
        them: a notice that came first is seen here and the messages are woken at once."""
        for lane, wait, message_ids in self._settle_waits(failed):
            receipts = [self._records[m].receipt_handle for m in message_ids]
            try:
                if self._rt.steps.await_notice(lane, wait, receipts):
                    self._rt.queues.hide(queue_arn, [(r, 0) for r in receipts])
            except RetryableServiceError:  # they come back at their wait's end and poll
                logger.warning("could not register waiting records for their settle notice")

    def _settle_waits(self, failed: set[str]) -> list[tuple[LaneKey, Wait, list[str]]]:
        found: list[tuple[LaneKey, Wait, list[str]]] = []
        for deliveries in self._groups.values():
            wait = settle_wait(self._results.get(d.message_id) for d in deliveries)
            if wait is not None:
                waiting = [d.message_id for d in deliveries if d.message_id in failed]
                found.append((deliveries[0].message.lane, wait, waiting))
        return found
