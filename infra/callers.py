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

import json
import re
from collections.abc import Sequence
from typing import Annotated

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

PRINCIPAL_PATTERN = r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[A-Za-z0-9+=,.@/_-]+$"
# A RoleId (AROA...) or UserId (AIDA...) as SQS reports senders.
SENDER_ID_PATTERN = r"^A[A-Z0-9]{15,127}$"
# EventBridge reserves aws.* for AWS services; a caller's source is its own.
EVENT_SOURCE_PATTERN = r"^[A-Za-z0-9._-]{1,256}$"
CALLER_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
DatastoreRef = Annotated[str, Field(pattern=r"^([0-9a-z]{32}|\*)$")]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class CallerRights(_Camel):
    """What a plain metadata update does not need: each is granted explicitly."""

    force: bool = False
    revert: bool = False
    include_study_image_sets: bool = False
    # Selectors, merges and HL7 ADT: one request that changes every image set of a patient or study.
    patient_level: bool = False

    def names(self) -> list[str]:
        """The rights as the functions name them (updater.domain.callers.Right)."""
        granted = {
            "force": self.force,
            "revert": self.revert,
            "includeStudyImageSets": self.include_study_image_sets,
            "patientLevel": self.patient_level,
        }
        return sorted(name for name, value in granted.items() if value)


class CallerConfig(_Camel):
    name: str
    principal: str = Field(pattern=PRINCIPAL_PATTERN, max_length=2048)
    sender_id: str | None = Field(default=None, pattern=SENDER_ID_PATTERN)
    event_source: str | None = Field(default=None, pattern=EVENT_SOURCE_PATTERN)
    datastores: tuple[DatastoreRef, ...] = ("*",)
    may: CallerRights = CallerRights()

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not CALLER_NAME_PATTERN.match(name) or name == "import-rules":
            raise ValueError(f"must match {CALLER_NAME_PATTERN.pattern} and not be import-rules")
        return name

    @field_validator("event_source")
    @classmethod
    def _own_source(cls, source: str | None) -> str | None:
        if source is not None and source.startswith("aws."):
            raise ValueError("aws.* sources belong to AWS services")
        return source

    @property
    def account(self) -> str:
        return self.principal.split(":")[4]

    def policy(self) -> dict[str, object]:
        """The caller as the functions' CALLERS setting holds it (updater.domain.callers.CallerPolicy)."""
        policy: dict[str, object] = {"name": self.name, "principals": [self.principal]}
        if self.sender_id:
            policy["senderIds"] = [self.sender_id]
        if self.event_source:
            policy["eventSources"] = [self.event_source]
        if self.datastores != ("*",):
            policy["datastores"] = list(self.datastores)
        if self.may.names():
            policy["may"] = self.may.names()
        return policy


class CallersConfig(_Camel):
    """The `callers` list with the checks that span callers."""

    callers: tuple[CallerConfig, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> CallersConfig:
        for what, values in (
            ("name", [c.name for c in self.callers]),
            ("eventSource", [c.event_source for c in self.callers if c.event_source]),
        ):
            if len(set(values)) != len(values):
                raise ValueError(f"each caller needs its own {what}")
        return self


def callers_setting(callers: Sequence[CallerConfig]) -> str:
    """The CALLERS environment variable: compact JSON, the same text at every synth."""
    return json.dumps([c.policy() for c in callers], separators=(",", ":"), sort_keys=True)


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
        iam.PolicyStatement(
            sid="NobodyElseMaySend",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["sqs:SendMessage"],
            resources=[queue.queue_arn],
            # No callers: nobody may send (ArnNotLike over an empty list cannot be written).
            conditions={"ArnNotLike": {"aws:PrincipalArn": principals}} if principals else None,
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
        iam.PolicyStatement(
            sid="OnlyTheStageRulesMaySend",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["sqs:SendMessage"],
            resources=[queue.queue_arn],
            conditions={"ArnNotEquals": {"aws:SourceArn": list(rule_arns)}},
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
            iam.PolicyStatement(
                sid=f"Caller{index}SourceIsItsOwn",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["events:PutEvents"],
                resources=[bus.event_bus_arn],
                conditions={
                    "StringEquals": {"events:source": caller.event_source},
                    "ArnNotEquals": {"aws:PrincipalArn": caller.principal},
                },
            )
        )
    bus.add_to_resource_policy(
        iam.PolicyStatement(
            sid="NoUnlistedSource",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["events:PutEvents"],
            resources=[bus.event_bus_arn],
            conditions={"StringNotEquals": {"events:source": sources}} if sources else None,
        )
    )
