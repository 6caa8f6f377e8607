"""The lane and the queues of the finish: where valid requests wait per image set, where explained
failures go for operators, and where the finalizer's own failures land.

    lane.fifo ── redrive ──► lane-dlq.fifo ──► finalizer ──► finalize-dlq.fifo
    failures            explained failures (failureCode, failureMessage); read by operators
    finalize-dlq(.fifo) the only queues whose content means something was lost: they page

The lane is FIFO with one message group per image set: its messages are worked on one delivery at
a time and in order. Each wait on it (a pacing slot, a lock, a settle poll) is one receive, so its
maxReceiveCount is sized for the longest wait, not for retries.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.ingest import DLQ_RETENTION, encrypted_queue
from infra.names import ResourceNames


@dataclass(frozen=True)
class LaneSettings:
    visibility_timeout_seconds: int
    max_receive_count: int
    dlq_visibility_timeout_seconds: int
    removal_policy: RemovalPolicy
    finalize_max_receive_count: int = 5


class FinishQueues(Construct):
    """The failures queue and the finalizer's own DLQs (standard and FIFO, for the DLQs it reads)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: ResourceNames,
        key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.failures = encrypted_queue(
            self,
            "Failures",
            queue_name=names.failures_queue,
            key=key,
            removal_policy=removal_policy,
            retention_period=DLQ_RETENTION,
            role="failures",
        )
        self.finalize_dlq = encrypted_queue(
            self,
            "FinalizeDlq",
            queue_name=names.finalize_dlq,
            key=key,
            removal_policy=removal_policy,
            retention_period=DLQ_RETENTION,
            role="finalize_dlq",
        )
        self.finalize_fifo_dlq = encrypted_queue(
            self,
            "FinalizeFifoDlq",
            queue_name=f"{names.finalize_dlq}.fifo",
            key=key,
            removal_policy=removal_policy,
            fifo=True,
            retention_period=DLQ_RETENTION,
            role="finalize_fifo_dlq",
        )

    @property
    def finalize_dlqs(self) -> tuple[sqs.Queue, sqs.Queue]:
        return (self.finalize_dlq, self.finalize_fifo_dlq)


class LaneQueues(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: ResourceNames,
        key: kms.IKey,
        settings: LaneSettings,
        finalize_fifo_dlq: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dlq = encrypted_queue(
            self,
            "LaneDlq",
            queue_name=names.lane_dlq,
            key=key,
            removal_policy=settings.removal_policy,
            fifo=True,
            retention_period=DLQ_RETENTION,
            visibility_timeout=Duration.seconds(settings.dlq_visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=finalize_fifo_dlq, max_receive_count=settings.finalize_max_receive_count
            ),
            role="lane_dlq",
        )
        self.queue = encrypted_queue(
            self,
            "Lane",
            queue_name=names.lane_queue,
            key=key,
            removal_policy=settings.removal_policy,
            fifo=True,
            visibility_timeout=Duration.seconds(settings.visibility_timeout_seconds),
            retention_period=DLQ_RETENTION,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dlq, max_receive_count=settings.max_receive_count
            ),
            role="lane",
        )
