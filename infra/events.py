"""EventBridge: the outcome bus, the requests bus, and the rules that feed the rules queue.

Rules deliver to SQS rather than invoking the Lambda: the queue buffers bursts the account-wide
update quota cannot absorb, and redelivery/DLQ behave the same for every trigger. Each rule target
has its own DLQ for delivery failures, apart from the queue's redrive DLQ for processing failures.

Every rule stamps what it delivers with its own ARN (`{"deliveredBy": <rule arn>, "event": ...}`,
EventBridge's predefined `aws.events.rule-arn`), and the rules queue admits only these rules: intake
trusts a HealthImaging event only when the stage's default-bus rule delivered it.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.callers import restrict_rule_queue
from infra.ingest import DLQ_RETENTION, encrypted_queue
from infra.names import (
    IMAGE_SET_CREATED_DETAIL_TYPE,
    IMPORT_COMPLETED_DETAIL_TYPE,
    IMPORT_COMPLETED_SOURCE,
    REQUEST_DETAIL_TYPE,
    SETTLE_NOTICE_DETAIL_TYPES,
    ResourceNames,
)

# EventBridge retries a failed delivery with backoff for up to 24 h; keep that default but say it.
TARGET_MAX_EVENT_AGE = Duration.hours(24)
TARGET_RETRY_ATTEMPTS = 185


def import_completed_pattern(datastore_ids: tuple[str, ...]) -> events.EventPattern:
    """The real HealthImaging event, only for this stage's data stores."""
    return events.EventPattern(
        source=[IMPORT_COMPLETED_SOURCE],
        detail_type=[IMPORT_COMPLETED_DETAIL_TYPE, IMAGE_SET_CREATED_DETAIL_TYPE],
        detail={"datastoreId": list(datastore_ids)},
    )


def settle_notice_pattern(datastore_ids: tuple[str, ...]) -> events.EventPattern:
    """HealthImaging announcing that a version settled, for this stage's data stores: the lane
    waiting for it stops waiting (the updater's settle notices)."""
    return events.EventPattern(
        source=[IMPORT_COMPLETED_SOURCE],
        detail_type=list(SETTLE_NOTICE_DETAIL_TYPES),
        detail={"datastoreId": list(datastore_ids)},
    )


def update_requested_pattern() -> events.EventPattern:
    # Any source: the bus policy admits each configured caller's source from its principal only,
    # and intake holds the source to its caller's rights (an unlisted one ends CALLER_NOT_ALLOWED).
    return events.EventPattern(detail_type=[REQUEST_DETAIL_TYPE])


class EventRouting(Construct):
    """Outcome bus (we publish), requests bus (others publish), and the two rules into ingest."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: ResourceNames,
        datastore_ids: tuple[str, ...],
        rule_queue: sqs.Queue,
        key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.outcome_bus = events.EventBus(self, "OutcomeBus", event_bus_name=names.outcome_bus)
        self.requests_bus = events.EventBus(self, "RequestsBus", event_bus_name=names.requests_bus)

        def rule_dlq(dlq_id: str, queue_name: str) -> sqs.Queue:
            """Where a rule's target puts what it could not deliver to the rules queue."""
            return encrypted_queue(
                self,
                dlq_id,
                queue_name=queue_name,
                key=key,
                removal_policy=removal_policy,
                retention_period=DLQ_RETENTION,
            )

        self.requests_rule_dlq = rule_dlq("RequestsRuleDlq", names.requests_rule_dlq)
        self.import_rule_dlq = rule_dlq("ImportRuleDlq", names.import_rule_dlq)
        self.requests_rule = events.Rule(
            self,
            "UpdateRequestedRule",
            event_bus=self.requests_bus,
            description="Update requests published by other services -> rules queue (stamped)",
            event_pattern=update_requested_pattern(),
            targets=[self._queue_target(rule_queue, self.requests_rule_dlq)],
        )
        self.settle_rule_dlq = rule_dlq("SettleRuleDlq", names.settle_rule_dlq)
        self.settle_rule = events.Rule(
            self,
            "SettleNoticesRule",
            description=(
                "HealthImaging settle events (this stage's data stores) -> rules queue: settle notices"
            ),
            event_pattern=settle_notice_pattern(datastore_ids),
            targets=[self._queue_target(rule_queue, self.settle_rule_dlq)],
        )
        self.import_rule = events.Rule(
            self,
            "ImportCompletedRule",
            description=(
                "HealthImaging Import Job Completed and Image Set Created (this stage's data stores)"
                " -> rules queue"
            ),
            event_pattern=import_completed_pattern(datastore_ids),
            targets=[self._queue_target(rule_queue, self.import_rule_dlq)],
        )
        restrict_rule_queue(rule_queue, [rule.rule_arn for rule in self.rules.values()])

    @property
    def rules(self) -> dict[str, events.Rule]:
        """Each rule by the role intake knows it by (TRUSTED_RULES)."""
        return {"requests": self.requests_rule, "settles": self.settle_rule, "imports": self.import_rule}

    @staticmethod
    def _queue_target(queue: sqs.IQueue, dead_letter_queue: sqs.IQueue) -> targets.SqsQueue:
        # The whole EventBridge envelope, stamped with the delivering rule's ARN.
        return targets.SqsQueue(
            queue,
            message=events.RuleTargetInput.from_object(
                {"deliveredBy": "<aws.events.rule-arn>", "event": events.EventField.from_path("$")}
            ),
            dead_letter_queue=dead_letter_queue,
            max_event_age=TARGET_MAX_EVENT_AGE,
            retry_attempts=TARGET_RETRY_ATTEMPTS,
        )

    @property
    def dead_letter_queues(self) -> tuple[sqs.Queue, ...]:
        return (self.requests_rule_dlq, self.import_rule_dlq, self.settle_rule_dlq)
