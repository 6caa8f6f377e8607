"""The ingest queues: two that callers send update requests to, one that only the stage's
EventBridge rules deliver to.

Two caller queues because SQS offers ordering only on FIFO queues: callers that need per-image-set
ordering use the FIFO queue with MessageGroupId = image set id; everyone else uses the standard
queue. The rules queue is apart so that what arrives on it is known to have come through one of
the stage's rules (its policy admits nothing else), and what arrives on the caller queues is known
not to have. Each has its own redrive DLQ.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Tags
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

# The longest retention SQS allows, so a failed request survives two weeks of investigation.
DLQ_RETENTION = Duration.days(14)
# What each queue is for, as a tag: the local stack reads it to tell the queues apart.
ROLE_TAG = "updater:role"


@dataclass(frozen=True)
class QueueSettings:
    visibility_timeout_seconds: int
    max_receive_count: int
    removal_policy: RemovalPolicy
    # The finalizer's polling of the redrive DLQs, and where what it cannot end goes.
    dlq_visibility_timeout_seconds: int
    finalize_max_receive_count: int = 5


def encrypted_queue(
    scope: Construct,
    construct_id: str,
    *,
    queue_name: str,
    key: kms.IKey,
    removal_policy: RemovalPolicy,
    fifo: bool = False,
    visibility_timeout: Duration | None = None,
    retention_period: Duration | None = None,
    dead_letter_queue: sqs.DeadLetterQueue | None = None,
    role: str | None = None,
) -> sqs.Queue:
    """Every queue of the stack: customer managed key, TLS-only queue policy."""
    queue = sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        # Reuse data keys for 5 minutes: cuts KMS calls (cost, KMS quotas) at the documented trade-off.
        data_key_reuse=Duration.minutes(5),
        enforce_ssl=True,
        fifo=fifo or None,
        content_based_deduplication=True if fifo else None,
        visibility_timeout=visibility_timeout,
        retention_period=retention_period,
        dead_letter_queue=dead_letter_queue,
        removal_policy=removal_policy,
    )
    if role:
        Tags.of(queue).add(ROLE_TAG, role)
    return queue


class IngestQueues(Construct):
    """The standard and FIFO ingest queues with their redrive DLQs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        settings: QueueSettings,
        standard_names: tuple[str, str],
        fifo_names: tuple[str, str],
        rule_names: tuple[str, str],
        finalize_dlqs: tuple[sqs.IQueue, sqs.IQueue],
    ) -> None:
        super().__init__(scope, construct_id)
        self._finalize_dlqs = finalize_dlqs
        self.standard_dlq, self.standard = self._queue_pair(
            "Standard", key, settings, standard_names, fifo=False, role="ingest"
        )
        self.fifo_dlq, self.fifo = self._queue_pair(
            "Fifo", key, settings, fifo_names, fifo=True, role="fifo_ingest"
        )
        self.rules_dlq, self.rules = self._queue_pair(
            "Rules", key, settings, rule_names, fifo=False, role="rules"
        )

    def _queue_pair(
        self,
        prefix: str,
        key: kms.IKey,
        settings: QueueSettings,
        names: tuple[str, str],
        *,
        fifo: bool,
        role: str,
    ) -> tuple[sqs.Queue, sqs.Queue]:
        queue_name, dlq_name = names
        # The finalizer consumes the redrive DLQ; what it cannot end moves on to its own DLQ.
        dlq = encrypted_queue(
            self,
            f"{prefix}Dlq",
            queue_name=dlq_name,
            key=key,
            removal_policy=settings.removal_policy,
            fifo=fifo,
            retention_period=DLQ_RETENTION,
            visibility_timeout=Duration.seconds(settings.dlq_visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self._finalize_dlqs[1 if fifo else 0],
                max_receive_count=settings.finalize_max_receive_count,
            ),
            role=f"{role}_dlq",
        )
        queue = encrypted_queue(
            self,
            f"{prefix}Queue",
            queue_name=queue_name,
            key=key,
            removal_policy=settings.removal_policy,
            fifo=fifo,
            visibility_timeout=Duration.seconds(settings.visibility_timeout_seconds),
            # Requests wait for the account-wide update quota; keep them as long as their DLQ would.
            retention_period=DLQ_RETENTION,
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=settings.max_receive_count),
            role=role,
        )
        return dlq, queue

    @property
    def caller_queues(self) -> tuple[sqs.Queue, sqs.Queue]:
        return (self.standard, self.fifo)

    @property
    def queues(self) -> tuple[sqs.Queue, sqs.Queue, sqs.Queue]:
        return (self.standard, self.fifo, self.rules)

    @property
    def dead_letter_queues(self) -> tuple[sqs.Queue, sqs.Queue, sqs.Queue]:
        return (self.standard_dlq, self.fifo_dlq, self.rules_dlq)
