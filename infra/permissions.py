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

# Only the apply function may change an image set; the others only read.
READ_IMAGE_SETS = ("medical-imaging:GetImageSet", "medical-imaging:GetImageSetMetadata")
UPDATE_IMAGE_SETS = ("medical-imaging:UpdateImageSetMetadata",)
LEDGER_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem")
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
class SharedGrants:
    """What every function touches; values may be CloudFormation tokens."""

    datastore_ids: Sequence[str]
    ledger_table_arn: str
    outcome_bus_arn: str
    failures_queue_arn: str
    key_arn: str
    audit_records_arn: str  # the audit trail's records/* objects


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


def _shared(stack: Stack, grants: SharedGrants, log_group_name: str) -> list[iam.PolicyStatement]:
    """Ledger, outcomes, explained failures, the key, logs, traces: every function's part."""
    return [
        iam.PolicyStatement(
            sid="LedgerTable", actions=list(LEDGER_ACTIONS), resources=[grants.ledger_table_arn]
        ),
        iam.PolicyStatement(
            sid="PublishOutcomes", actions=["events:PutEvents"], resources=[grants.outcome_bus_arn]
        ),
        iam.PolicyStatement(
            sid="ExplainedFailures", actions=["sqs:SendMessage"], resources=[grants.failures_queue_arn]
        ),
        iam.PolicyStatement(sid="UseTheStageKey", actions=list(KEY_ACTIONS), resources=[grants.key_arn]),
        # Put only: no read, no delete (the bucket's policy and Object Lock refuse those anyway).
        iam.PolicyStatement(
            sid="WriteAuditRecords", actions=["s3:PutObject"], resources=[grants.audit_records_arn]
        ),
        iam.PolicyStatement(
            sid="WriteOwnLogGroup",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_streams_arn(stack, log_group_name)],
        ),
        iam.PolicyStatement(sid="XRayTraces", actions=list(XRAY_ACTIONS), resources=[XRAY_RESOURCE]),
    ]


def _image_sets(stack: Stack, grants: SharedGrants, sid: str, actions: Sequence[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid=sid,
        actions=list(actions),
        resources=[arn for ds in grants.datastore_ids for arn in datastore_arns(stack, ds)],
    )


def _consume(queue_arns: Sequence[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid="ConsumeOwnQueues", actions=list(QUEUE_CONSUME_ACTIONS), resources=list(queue_arns)
    )


def intake_statements(
    stack: Stack,
    grants: SharedGrants,
    *,
    log_group_name: str,
    ingest_queue_arns: Sequence[str],
    lane_queue_arn: str,
    import_locations: Sequence[S3Location],
    caller_principals: Sequence[str] = (),
) -> list[iam.PolicyStatement]:
    """Validate, record, forward to the lane; read what import reactions need; learn the unique ids
    of the configured callers' principals (SQS names a sender by its id, never its ARN)."""
    recognise = [arn for arn in caller_principals if arn.split(":")[4] == stack.account]
    return [
        *(
            [
                iam.PolicyStatement(
                    sid="RecogniseCallers",
                    actions=["iam:GetRole", "iam:GetUser"],
                    resources=sorted(recognise),
                )
            ]
            if recognise
            else []
        ),
        *_shared(stack, grants, log_group_name),
        _consume(ingest_queue_arns),
        # ChangeMessageVisibility: a settle notice wakes the lane messages waiting for it.
        iam.PolicyStatement(
            sid="ForwardToTheLaneAndWakeIt",
            actions=["sqs:SendMessage", "sqs:ChangeMessageVisibility"],
            resources=[lane_queue_arn],
        ),
        # Import reactions read what imports made; selector requests search (SearchImageSets).
        _image_sets(
            stack,
            grants,
            "ReadImportedImageSets",
            ("medical-imaging:GetImageSetMetadata", "medical-imaging:SearchImageSets"),
        ),
        *_s3_statements(stack, import_locations),
    ]


def apply_statements(
    stack: Stack, grants: SharedGrants, *, log_group_name: str, lane_queue_arn: str
) -> list[iam.PolicyStatement]:
    """The only function that may update an image set."""
    return [
        *_shared(stack, grants, log_group_name),
        _consume([lane_queue_arn]),
        _image_sets(stack, grants, "UpdateConfiguredDataStoresOnly", (*READ_IMAGE_SETS, *UPDATE_IMAGE_SETS)),
    ]


def finalize_statements(
    stack: Stack, grants: SharedGrants, *, log_group_name: str, dead_letter_queue_arns: Sequence[str]
) -> list[iam.PolicyStatement]:
    """Read the redrive DLQs and the versions their requests' calls made; never update."""
    return [
        *_shared(stack, grants, log_group_name),
        _consume(dead_letter_queue_arns),
        # GetImageSetMetadata: an audit record's values before and after (the versions' metadata).
        _image_sets(stack, grants, "ReadConfiguredDataStores", READ_IMAGE_SETS),
    ]
