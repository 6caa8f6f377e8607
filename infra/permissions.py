"""Everything the updater function may do, as one explicit, least-privilege policy document.

The statements are written out instead of collected from CDK `grant*` calls so the whole surface is
reviewable in one place and lands in a customer managed policy (HIPAA checks reject inline policies).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam

from infra.config import S3Location

MEDICAL_IMAGING_ACTIONS = (
    "medical-imaging:GetImageSet",
    "medical-imaging:GetImageSetMetadata",
    "medical-imaging:UpdateImageSetMetadata",
    "medical-imaging:SearchImageSets",
)
LEDGER_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:DescribeTable",
)
QUEUE_CONSUME_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
)
# What SQS (send/receive), DynamoDB and Lambda's environment decryption ask KMS for on our behalf.
KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
# X-Ray's trace APIs have no resource-level permissions: AWS requires "Resource": "*" here.
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
XRAY_RESOURCE = "*"


@dataclass(frozen=True)
class UpdaterGrants:
    """The resources the updater touches; values may be CloudFormation tokens."""

    datastore_ids: Sequence[str]
    ledger_table_arn: str
    outcome_bus_arn: str
    ingest_queue_arns: Sequence[str]
    failure_dlq_arn: str
    key_arn: str
    log_group_name: str
    import_locations: Sequence[S3Location]


def datastore_arns(stack: Stack, datastore_id: str) -> list[str]:
    """The data store itself (SearchImageSets) and its image sets (the image set operations)."""
    return [
        stack.format_arn(
            service="medical-imaging",
            resource="datastore",
            resource_name=name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        for name in (datastore_id, f"{datastore_id}/imageset/*")
    ]


def log_streams_arn(stack: Stack, log_group_name: str) -> str:
    # The log group is created by the stack, so the function needs no logs:CreateLogGroup.
    return stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=f"{log_group_name}:log-stream:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def _s3_statements(stack: Stack, locations: Sequence[S3Location]) -> list[iam.PolicyStatement]:
    prefixes_by_bucket: dict[str, set[str]] = defaultdict(set)
    for location in locations:
        prefixes_by_bucket[location.bucket].add(location.prefix)
    statements = []
    for bucket, prefixes in sorted(prefixes_by_bucket.items()):
        ordered = sorted(prefixes)
        bucket_arn = f"arn:{stack.partition}:s3:::{bucket}"
        statements.append(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[f"{bucket_arn}/{prefix}*" for prefix in ordered],
            )
        )
        statements.append(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in ordered]}},
            )
        )
    return statements


def updater_policy_statements(stack: Stack, grants: UpdaterGrants) -> list[iam.PolicyStatement]:
    statements = [
        iam.PolicyStatement(
            sid="HealthImagingConfiguredDataStoresOnly",
            actions=list(MEDICAL_IMAGING_ACTIONS),
            resources=[arn for ds in grants.datastore_ids for arn in datastore_arns(stack, ds)],
        ),
        iam.PolicyStatement(
            sid="LedgerAndPacerTable", actions=list(LEDGER_ACTIONS), resources=[grants.ledger_table_arn]
        ),
        iam.PolicyStatement(
            sid="PublishOutcomes", actions=["events:PutEvents"], resources=[grants.outcome_bus_arn]
        ),
        iam.PolicyStatement(
            sid="ConsumeIngestQueues",
            actions=list(QUEUE_CONSUME_ACTIONS),
            resources=list(grants.ingest_queue_arns),
        ),
        iam.PolicyStatement(
            sid="ReenqueueAndDeadLetter",
            actions=["sqs:SendMessage"],
            resources=[*grants.ingest_queue_arns, grants.failure_dlq_arn],
        ),
        iam.PolicyStatement(sid="UseTheStageKey", actions=list(KEY_ACTIONS), resources=[grants.key_arn]),
        iam.PolicyStatement(
            sid="WriteOwnLogGroup",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_streams_arn(stack, grants.log_group_name)],
        ),
        iam.PolicyStatement(sid="XRayTraces", actions=list(XRAY_ACTIONS), resources=[XRAY_RESOURCE]),
    ]
    return statements + _s3_statements(stack, grants.import_locations)
