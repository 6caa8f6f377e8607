"""cdk-nag findings accepted on purpose, each with the reason a reviewer needs.

Suppressions are attached to the exact resources (never the whole stack), and IAM5 wildcard
suppressions name the exact wildcard patterns they cover, so any new wildcard still fails synth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo

# Each pattern matches one kind of wildcard in the updater's policy (see infra/permissions.py).
WILDCARD_REASONS = {
    r"^Resource::arn:[^:]+:medical-imaging:[^:]+:\d{12}:datastore/[0-9a-z]{32}/imageset/\*$": (
        "Image set ids are created by imports at run time; access is limited to the image sets of the "
        "data stores configured for this stage."
    ),
    r"^Resource::arn:[^:]+:s3:::[^/]+/.*\*$": (
        "Import manifests and sidecar corrections files have job-specific keys; read access is limited "
        "to the import output/input prefixes configured for this stage."
    ),
    r"^Resource::arn:[^:]+:logs:[^:]+:\d{12}:log-group:/aws/lambda/[^:]+:log-stream:\*$": (
        "Lambda names a log stream per execution environment at run time; access is limited to the "
        "function's own log group."
    ),
    r"^Resource::<AuditRecords[0-9A-F]+\.Arn>/records/\*$": (
        "Audit records are keyed by day and request at run time; access is limited to the records/ "
        "prefix of the stage's audit bucket (put only for the functions, read only for the auditor)."
    ),
    r"^Resource::\*$": (
        "X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions; AWS "
        "requires Resource '*' (this is what Lambda's active tracing needs, and all the '*' grants)."
    ),
}


@dataclass(frozen=True)
class JustifiedResources:
    policies: Sequence[iam.ManagedPolicy]
    functions: Sequence[lambda_.Function]
    rule_target_dlqs: Sequence[sqs.Queue]
    ledger_table: dynamodb.Table
    failures_queue: sqs.Queue
    audit_buckets: Sequence[s3.Bucket]
    audit_access_logs: s3.Bucket


def _regex(pattern: str) -> RegexAppliesTo:
    return RegexAppliesTo(regex=f"/{pattern}/g")


def suppress_justified_findings(resources: JustifiedResources) -> None:
    NagSuppressions.add_resource_suppressions(
        list(resources.policies),
        [
            NagPackSuppression(id="AwsSolutions-IAM5", reason=reason, applies_to=[_regex(pattern)])
            for pattern, reason in WILDCARD_REASONS.items()
        ],
    )
    NagSuppressions.add_resource_suppressions(
        list(resources.functions),
        [
            NagPackSuppression(
                id="AwsSolutions-L1",
                reason="Pinned to Python 3.12: the bundled wheels are built for CPython 3.12 "
                "(infra/bundling.py) and the code is tested on it; raise both together.",
            ),
            NagPackSuppression(
                id="HIPAA.Security-LambdaDLQ",
                reason="The function is only invoked by SQS event source mappings (never asynchronously), "
                "so an async DLQ would never receive anything; failed records go to their queue's redrive "
                "DLQ, which the finalize function ends with a reason (its own DLQ is alarmed).",
            ),
            NagPackSuppression(
                id="HIPAA.Security-LambdaInsideVPC",
                reason="The function reaches only AWS public service endpoints (HealthImaging, SQS, "
                "DynamoDB, EventBridge, S3, KMS, X-Ray, Logs) over TLS with IAM authorization and holds "
                "no network-reachable resources; a VPC would add interface endpoints for each without "
                "narrowing access.",
            ),
        ],
    )
    NagSuppressions.add_resource_suppressions(
        list(resources.rule_target_dlqs),
        [
            NagPackSuppression(
                id="AwsSolutions-SQS3",
                reason="This queue is itself a dead-letter queue: the EventBridge rule target's DLQ "
                "(DeadLetterConfig), which cdk-nag does not recognise as it only follows RedrivePolicy.",
            )
        ],
    )
    NagSuppressions.add_resource_suppressions(
        resources.failures_queue,
        [
            NagPackSuppression(
                id="AwsSolutions-SQS3",
                reason="The failures queue is a terminal queue like a DLQ: it holds requests that ended "
                "FAILED, with their reason, for operators; no function consumes it, so nothing could "
                "move to a DLQ of its own.",
            )
        ],
    )
    NagSuppressions.add_resource_suppressions(
        resources.ledger_table,
        [
            NagPackSuppression(
                id="HIPAA.Security-DynamoDBInBackupPlan",
                reason="The ledger holds short-lived exactly-once bookkeeping and the pacer token "
                "(expired by TTL), no source of truth; point-in-time recovery (35 days) covers it.",
            )
        ],
    )
    NagSuppressions.add_resource_suppressions(
        list(resources.audit_buckets),
        [
            NagPackSuppression(
                id="HIPAA.Security-S3BucketReplicationEnabled",
                reason="S3 keeps every object across at least three Availability Zones; copying the audit "
                "trail (PHI) to another Region is a data-residency decision per deployment, and its "
                "replica would need Object Lock of its own. Left to the operator, documented in "
                "docs/security.md.",
            )
        ],
    )
    NagSuppressions.add_resource_suppressions(
        resources.audit_access_logs,
        [
            NagPackSuppression(
                id="HIPAA.Security-S3DefaultEncryptionKMS",
                reason="S3 server access logging delivers only to buckets encrypted with SSE-S3; the logs "
                "hold request metadata (keys are hashes of request ids), no record contents.",
            ),
            NagPackSuppression(
                id="AwsSolutions-S1",
                reason="This bucket receives the audit bucket's server access logs; logging it in turn "
                "would only log the log deliveries.",
            ),
        ],
    )
