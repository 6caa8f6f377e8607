"""Who may send update requests to a stage, and what each caller may do (cdk.json `callers`).

From one list the stack derives three things, so they cannot disagree:

* the caller queues' policies: only the listed principals may send (an explicit deny for every
  other principal, which an identity policy in the account cannot override);
* the requests bus's policy: each EventBridge `source` may be used only by its caller's principal,
  and no other source at all;
* the stage key's policy: the listed principals may encrypt what they send through SQS with it
  (a caller in another account has no other way to use the key; SSE-KMS queues need it);
* the functions' CALLERS setting, by which intake recognises each record's sender (the SQS SenderId
  or the event's source) and holds it to its data stores and rights.

A caller looks like::

    {"name": "ris", "principal": "arn:aws:iam::111122223333:role/ris-corrections",
     "eventSource": "hospital.ris", "datastores": ["*"],
     "may": {"force": false, "revert": true, "includeStudyImageSets": false, "patientLevel": true}}

`senderId` (the role's RoleId, `aws iam get-role --query Role.RoleId`) is needed only for a
principal in another account: IAM answers the updater for its own account only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs

from infra.caller_config import CallerConfig


def restrict_caller_queue(queue: sqs.Queue, callers: Sequence[CallerConfig]) -> None:
    """Only the listed principals may send: an allow for each (another account needs it) and one
    deny for everyone else, which no identity policy in this account can override."""
    principals = sorted({c.principal for c in callers})
    if principals:
        queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ConfiguredCallersMaySend",
                principals=[iam.ArnPrincipal(arn) for arn in principals],
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
            )
        )
    queue.add_to_resource_policy(
        _deny_everyone_else(
            "NobodyElseMaySend",
            "sqs:SendMessage",
            queue.queue_arn,
            # No callers: nobody may send (ArnNotLike over an empty list cannot be written).
            {"ArnNotLike": {"aws:PrincipalArn": principals}} if principals else None,
        )
    )


def allow_callers_to_send_with_key(key: kms.Key, callers: Sequence[CallerConfig]) -> None:
    """SendMessage to an SSE-KMS queue needs kms:GenerateDataKey and kms:Decrypt on its key for the
    sender; only through SQS of the stage's region, and only for the listed principals."""
    principals = sorted({c.principal for c in callers})
    if not principals:
        return
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CallersSendThroughSqs",
            principals=[iam.ArnPrincipal(arn) for arn in principals],
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            resources=["*"],
            conditions={"StringEquals": {"kms:ViaService": f"sqs.{Stack.of(key).region}.amazonaws.com"}},
        )
    )


def restrict_rule_queue(queue: sqs.Queue, rule_arns: Sequence[str]) -> None:
    """Only the stage's own rules may deliver here: what arrives on this queue came through them."""
    queue.add_to_resource_policy(
        _deny_everyone_else(
            "OnlyTheStageRulesMaySend",
            "sqs:SendMessage",
            queue.queue_arn,
            {"ArnNotEquals": {"aws:SourceArn": list(rule_arns)}},
        )
    )


def restrict_requests_bus(bus: events.EventBus, callers: Sequence[CallerConfig]) -> None:
    """Each source only from its caller's principal, and no unlisted source at all."""
    sources = sorted(c.event_source for c in callers if c.event_source)
    for index, caller in enumerate(c for c in callers if c.event_source):
        bus.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"Caller{index}MayPutItsSource",
                principals=[iam.ArnPrincipal(caller.principal)],
                actions=["events:PutEvents"],
                resources=[bus.event_bus_arn],
                conditions={"StringEquals": {"events:source": caller.event_source}},
            )
        )
        bus.add_to_resource_policy(
            _deny_everyone_else(
                f"Caller{index}SourceIsItsOwn",
                "events:PutEvents",
                bus.event_bus_arn,
                {
                    "StringEquals": {"events:source": caller.event_source},
                    "ArnNotEquals": {"aws:PrincipalArn": caller.principal},
                },
            )
        )
    bus.add_to_resource_policy(
        _deny_everyone_else(
            "NoUnlistedSource",
            "events:PutEvents",
            bus.event_bus_arn,
            {"StringNotEquals": {"events:source": sources}} if sources else None,
        )
    )


def _deny_everyone_else(
    sid: str, action: str, resource: str, conditions: dict[str, Any] | None
) -> iam.PolicyStatement:
    """An explicit deny of `action` for every principal but those `conditions` spare (None: for
    all): a resource policy's deny, which no identity policy in this account can override."""
    return iam.PolicyStatement(
        sid=sid,
        effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()],
        actions=[action],
        resources=[resource],
        conditions=conditions,
    )
