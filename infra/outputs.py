"""The stack's outputs: what callers, subscribers, operators and auditors need to find."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import CfnOutput

if TYPE_CHECKING:
    from infra.stack import MetadataUpdaterStack


def add_outputs(stack: MetadataUpdaterStack) -> None:
    outputs = {
        "IngestQueueUrl": (
            stack.ingest.standard.queue_url,
            "Submit update requests here (standard queue); only the configured callers may send",
        ),
        "IngestFifoQueueUrl": (
            stack.ingest.fifo.queue_url,
            "Submit ordered update requests here (MessageGroupId = image set id)",
        ),
        "RequestsBusName": (
            stack.routing.requests_bus.event_bus_name,
            "Publish ImageSetMetadataUpdate.Requested events here",
        ),
        "RequestsBusArn": (stack.routing.requests_bus.event_bus_arn, "ARN of the requests bus"),
        "OutcomeBusName": (stack.routing.outcome_bus.event_bus_name, "Subscribe to update outcomes here"),
        "OutcomeBusArn": (stack.routing.outcome_bus.event_bus_arn, "ARN of the outcome bus"),
        "LedgerTableName": (stack.ledger.table.table_name, "Ledger, lanes and update pacer table"),
        "FailuresQueueUrl": (stack.finish.failures.queue_url, "Failed requests, with their reasons"),
        "StageKeyArn": (
            stack.key.key_arn,
            "The stage's KMS key: callers need kms:GenerateDataKey to send",
        ),
        "AlarmTopicArn": (stack.observability.topic.topic_arn, "Subscribe operators to alarms here"),
        "IntakeFunctionName": (stack.intake.function.function_name, "Validates and forwards requests"),
        "ApplyFunctionName": (stack.apply.function.function_name, "Applies updates (the lane's consumer)"),
        "AuditBucketName": (stack.audit.bucket.bucket_name, "The audit trail (Object Lock, compliance mode)"),
        "AuditorRoleArn": (stack.audit.auditor.role_arn, "Assume this role to read the audit trail"),
        "FinalizeFunctionName": (stack.finalize.function.function_name, "Explains what SQS gave up on"),
        "RulesQueueUrl": (stack.ingest.rules.queue_url, "Where the stage's rules deliver (nobody else may)"),
    }
    for output_id, (value, description) in outputs.items():
        CfnOutput(stack, output_id, value=value, description=description)
