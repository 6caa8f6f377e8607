"""Creates single CloudFormation resources (queue, table, bus, rule) in moto through boto3."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Any

from local.moto_stack import LOCAL_ACCOUNT_ID, LOCAL_REGION, AwsClients
from local.template_values import TemplateValues, UnresolvedValue

QUEUE_TYPE = "AWS::SQS::Queue"
TABLE_TYPE = "AWS::DynamoDB::Table"
BUS_TYPE = "AWS::Events::EventBus"
RULE_TYPE = "AWS::Events::Rule"
BUCKET_TYPE = "AWS::S3::Bucket"
S3_MAX_BUCKET_NAME = 63
FUNCTION_TYPE = "AWS::Lambda::Function"
MAPPING_TYPE = "AWS::Lambda::EventSourceMapping"
SQS_MAX_QUEUE_NAME = 80
# CloudFormation's defaults when a queue leaves these unset.
DEFAULT_VISIBILITY_TIMEOUT_S = 30
# Queue properties that are plain SQS attributes (KMS is left out: moto gets no key).
SQS_ATTRIBUTE_PROPERTIES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
)
TABLE_PROPERTIES = (
    "TableName",
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
    "TimeToLiveSpecification",
)
# moto's EventBridge -> SQS delivery drops the `account` field that real events carry (and that
# Powertools' EventBridgeModel requires): this is moto's default target input plus `account`.
EVENT_WITH_ACCOUNT_TEMPLATE = (
    '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
    '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, '
    '"detail": <detail>}'
)
EVENT_PATHS = {
    name: f"$.{name}"
    for name in ("id", "detail-type", "source", "account", "time", "region", "resources", "detail")
}


@dataclass(frozen=True)
class CreatedQueue:
    name: str
    url: str
    arn: str
    fifo: bool
    visibility_timeout_s: int
    max_receive_count: int | None
    dead_letter_queue_arn: str | None


@dataclass(frozen=True)
class CapturedBus:
    queue_name: str
    queue_url: str
    queue_arn: str
    rule_name: str


@dataclass
class MotoResourceBuilder:
    """Creates resources in dependency order and records their physical values for later `Ref`s."""

    clients: AwsClients
    values: TemplateValues
    name_prefix: str = ""
    visibility_timeout_s: int | None = None
    polled_queue_ids: frozenset[str] = frozenset()
    # Stage data store id -> local ones: the stage's ids name data stores the emulator does not have.
    datastore_ids: dict[str, tuple[str, ...]] = field(default_factory=dict)
    queues: dict[str, CreatedQueue] = field(default_factory=dict)

    def create_all(self, resources: dict[str, Any]) -> None:
        creators = {
            QUEUE_TYPE: self._create_queue,
            TABLE_TYPE: self._create_table,
            BUS_TYPE: self._create_bus,
            RULE_TYPE: self._create_rule,
            BUCKET_TYPE: self._create_bucket,
            FUNCTION_TYPE: self._define_function,
        }
        for logical_id in creation_order(resources):
            creator = creators.get(resources[logical_id]["Type"])
            if creator is not None:
                creator(logical_id, resources[logical_id].get("Properties", {}))

    def _resolve(self, properties: dict[str, Any], wanted: Iterable[str]) -> dict[str, Any]:
        """Resolves only the properties moto is given: the rest (KMS keys, tags) may name resources
        that exist in AWS alone."""
        return {key: self.values.resolve(properties[key]) for key in wanted if key in properties}

    def _physical_name(self, logical_id: str, given: str | None, suffix: str = "") -> str:
        name = f"{self.name_prefix}{given or logical_id + suffix}"
        if len(name) > SQS_MAX_QUEUE_NAME:
            raise ValueError(f"local name {name!r} is longer than {SQS_MAX_QUEUE_NAME} characters")
        return name

    def _create_queue(self, logical_id: str, properties: dict[str, Any]) -> None:
        resolved = self._resolve(properties, ("QueueName", "RedrivePolicy", *SQS_ATTRIBUTE_PROPERTIES))
        fifo = bool(resolved.get("FifoQueue", False))
        name = self._physical_name(logical_id, resolved.get("QueueName"), ".fifo" if fifo else "")
        attributes = {
            key: str(resolved[key]).lower() if isinstance(resolved[key], bool) else str(resolved[key])
            for key in SQS_ATTRIBUTE_PROPERTIES
            if key in resolved
        }
        if self.visibility_timeout_s is not None and logical_id in self.polled_queue_ids:
            attributes["VisibilityTimeout"] = str(self.visibility_timeout_s)
        redrive = resolved.get("RedrivePolicy")
        if redrive:
            attributes["RedrivePolicy"] = json.dumps(redrive)
        url = self.clients.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = f"arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{name}"
        self.values.define(logical_id, url, Arn=arn, QueueName=name, QueueUrl=url)
        self.queues[logical_id] = CreatedQueue(
            name=name,
            url=url,
            arn=arn,
            fifo=fifo,
            visibility_timeout_s=int(attributes.get("VisibilityTimeout", DEFAULT_VISIBILITY_TIMEOUT_S)),
            max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
            dead_letter_queue_arn=redrive["deadLetterTargetArn"] if redrive else None,
        )

    def _create_table(self, logical_id: str, properties: dict[str, Any]) -> None:
        resolved = self._resolve(properties, TABLE_PROPERTIES)
        name = self._physical_name(logical_id, resolved.get("TableName"))
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": resolved["KeySchema"],
            "AttributeDefinitions": resolved["AttributeDefinitions"],
            "BillingMode": resolved.get("BillingMode", "PROVISIONED"),
        }
        for optional in ("ProvisionedThroughput", "GlobalSecondaryIndexes"):
            if optional in resolved:
                request[optional] = resolved[optional]
        self.clients.dynamodb.create_table(**request)
        ttl = resolved.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            self.clients.dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        self.values.define(
            logical_id, name, Arn=f"arn:aws:dynamodb:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:table/{name}"
        )

    def _create_bus(self, logical_id: str, properties: dict[str, Any]) -> None:
        name = self._physical_name(logical_id, self.values.resolve(properties.get("Name")))
        arn = self.clients.events.create_event_bus(Name=name)["EventBusArn"]
        self.values.define(logical_id, name, Arn=arn, Name=name)

    def _create_bucket(self, logical_id: str, properties: dict[str, Any]) -> None:
        """A bucket with the template's Object Lock (the audit trail); encryption and policies are
        AWS's alone (moto checks neither)."""
        given = str(self.values.resolve(properties.get("BucketName")) or logical_id.lower())
        name = f"{self.name_prefix}{given}"
        if (
            len(name) > S3_MAX_BUCKET_NAME
        ):  # the prefix keeps stacks apart; the name's end keeps buckets apart
            name = f"{self.name_prefix}{given[len(name) - S3_MAX_BUCKET_NAME :].lstrip('-.')}"
        locked = bool(properties.get("ObjectLockEnabled"))
        self.clients.s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=locked)
        lock = properties.get("ObjectLockConfiguration")
        if locked and lock:
            self.clients.s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=lock)
        self.values.define(logical_id, name, Arn=f"arn:aws:s3:::{name}")

    def _create_rule(self, logical_id: str, properties: dict[str, Any]) -> None:
        resolved = self._resolve(properties, ("Name", "EventBusName", "EventPattern", "State"))
        name = self._physical_name(logical_id, resolved.get("Name"))
        bus = resolved.get("EventBusName", "default")
        arn = self.clients.events.put_rule(
            Name=name,
            EventBusName=bus,
            EventPattern=json.dumps(self._local_datastores(resolved["EventPattern"])),
            State=resolved.get("State", "ENABLED"),
        )["RuleArn"]
        targets = list(self._sqs_targets(properties.get("Targets", [])))
        if targets:
            self.clients.events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        self.values.define(logical_id, name if bus == "default" else f"{bus}|{name}", Arn=arn)

    def _local_datastores(self, pattern: Any) -> Any:
        """Swaps the stage's data store ids for the local ones wherever a pattern lists them."""
        if isinstance(pattern, dict):
            return {key: self._local_datastores(value) for key, value in pattern.items()}
        if isinstance(pattern, list) and any(item in self.datastore_ids for item in pattern):
            local = [local_id for item in pattern for local_id in self.datastore_ids.get(item, (item,))]
            return list(dict.fromkeys(local))
        return pattern

    def _sqs_targets(self, targets: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        for target in targets:
            try:
                resolved = self.values.resolve(target)
            except UnresolvedValue:
                continue  # a target moto cannot reach (e.g. a Lambda function): not part of the local flow
            if ":sqs:" not in str(resolved.get("Arn")):
                continue
            local_target: dict[str, Any] = {"Id": resolved["Id"], "Arn": resolved["Arn"]}
            for passthrough in ("DeadLetterConfig", "RetryPolicy", "SqsParameters"):
                if passthrough in resolved:
                    local_target[passthrough] = resolved[passthrough]
            local_target["InputTransformer"] = resolved.get(
                "InputTransformer",
                {"InputPathsMap": EVENT_PATHS, "InputTemplate": EVENT_WITH_ACCOUNT_TEMPLATE},
            )
            yield local_target

    def _define_function(self, logical_id: str, properties: dict[str, Any]) -> None:
        # Functions run in local execution environments (local.execution_environments): only the
        # name is needed here.
        name = self.values.resolve(properties.get("FunctionName")) or f"{self.name_prefix}{logical_id}"
        self.values.define(
            logical_id, name, Arn=f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{name}"
        )


def capture_bus_events(clients: AwsClients, bus_name: str, queue_name: str) -> CapturedBus:
    """A queue plus a rule that copies every event of `bus_name` into it (local observation only)."""
    queue_url = clients.sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{queue_name}"
    rule_name = queue_name
    # Every event put on the bus carries this account: the pattern matches all of them.
    clients.events.put_rule(
        Name=rule_name, EventBusName=bus_name, EventPattern=json.dumps({"account": [LOCAL_ACCOUNT_ID]})
    )
    clients.events.put_targets(
        Rule=rule_name,
        EventBusName=bus_name,
        Targets=[
            {
                "Id": "capture",
                "Arn": queue_arn,
                "InputTransformer": {
                    "InputPathsMap": EVENT_PATHS,
                    "InputTemplate": EVENT_WITH_ACCOUNT_TEMPLATE,
                },
            }
        ],
    )
    return CapturedBus(queue_name=queue_name, queue_url=queue_url, queue_arn=queue_arn, rule_name=rule_name)


def creation_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids ordered so that every resource comes after the ones it refers to."""
    graph = {
        logical_id: _references(resource, resources.keys()) for logical_id, resource in resources.items()
    }
    return list(TopologicalSorter(graph).static_order())


def _references(value: Any, logical_ids: Iterable[str]) -> set[str]:
    known = set(logical_ids)
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("Ref"), str) and node["Ref"] in known:
                found.add(node["Ref"])
            getatt = node.get("Fn::GetAtt")
            if isinstance(getatt, list) and getatt and getatt[0] in known:
                found.add(getatt[0])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(value)
    return found
