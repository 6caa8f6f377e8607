"""A small CloudFormation template shaped like the CDK stack's output (logical ids, intrinsics).

It lets the topology and poller tests run without synthesizing; `test_real_stack.py` checks the
same derivation against the real app's template.
"""

from __future__ import annotations

from typing import Any

MAX_RECEIVE_COUNT = 3
BATCH_SIZE = 5
STAGE_DATASTORE_ID = "0123456789abcdef0123456789abcdef"


def _arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _queue(name: str, *, fifo: bool = False, dlq: str | None = None, visibility: int = 720) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "QueueName": name,
        "KmsMasterKeyId": {"Fn::GetAtt": ["Key961B73FD", "Arn"]},
        "VisibilityTimeout": visibility,
    }
    if fifo:
        properties |= {"FifoQueue": True, "ContentBasedDeduplication": True}
    if dlq:
        properties["RedrivePolicy"] = {"deadLetterTargetArn": _arn(dlq), "maxReceiveCount": MAX_RECEIVE_COUNT}
    else:
        properties["MessageRetentionPeriod"] = 1209600
    return {"Type": "AWS::SQS::Queue", "Properties": properties}


def _mapping(queue: str, function: str = "UpdaterFunction1A2B3C4D") -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::EventSourceMapping",
        "Properties": {
            "EventSourceArn": _arn(queue),
            "FunctionName": {"Ref": function},
            "BatchSize": BATCH_SIZE,
            "MaximumBatchingWindowInSeconds": 1,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 2},
        },
    }


def handwritten_stack_resources() -> dict[str, Any]:
    prefix = "svc-dev"
    return {
        "Parameters": {"BootstrapVersion": {"Default": "/cdk-bootstrap/hnb659fds/version"}},
        "Resources": {
            "IngestDlq11111111": _queue(f"{prefix}-ingest-dlq"),
            "IngestQueue22222222": _queue(f"{prefix}-ingest", dlq="IngestDlq11111111"),
            "FifoDlq33333333": _queue(f"{prefix}-ingest-dlq.fifo", fifo=True),
            "FifoQueue44444444": _queue(f"{prefix}-ingest.fifo", fifo=True, dlq="FifoDlq33333333"),
            "ImportRuleDlq55555555": _queue(f"{prefix}-import-rule-dlq"),
            "RequestsRuleDlq66666666": _queue(f"{prefix}-requests-rule-dlq"),
            "LedgerTable77777777": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": f"{prefix}-ledger",
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "BillingMode": "PAY_PER_REQUEST",
                    "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                },
            },
            "OutcomeBus88888888": {
                "Type": "AWS::Events::EventBus",
                "Properties": {"Name": f"{prefix}-outcomes"},
            },
            "RequestsBus99999999": {
                "Type": "AWS::Events::EventBus",
                "Properties": {"Name": f"{prefix}-requests"},
            },
            "ImportCompletedRuleAAAAAAAA": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "EventPattern": {
                        "source": ["aws.medical-imaging"],
                        "detail-type": ["Import Job Completed"],
                        "detail": {"datastoreId": [STAGE_DATASTORE_ID]},
                    },
                    "State": "ENABLED",
                    "Targets": [
                        {
                            "Arn": _arn("IngestQueue22222222"),
                            "Id": "Target0",
                            "DeadLetterConfig": {"Arn": _arn("ImportRuleDlq55555555")},
                        }
                    ],
                },
            },
            "RequestsRuleBBBBBBBB": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "EventBusName": {"Ref": "RequestsBus99999999"},
                    "EventPattern": {"detail-type": ["ImageSetMetadataUpdate.Requested"]},
                    "State": "ENABLED",
                    "Targets": [
                        {
                            "Arn": _arn("IngestQueue22222222"),
                            "Id": "Target0",
                            "DeadLetterConfig": {"Arn": _arn("RequestsRuleDlq66666666")},
                        }
                    ],
                },
            },
            "UpdaterFunction1A2B3C4D": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": f"{prefix}-updater",
                    "Handler": "updater.handler.lambda_handler",
                    "Timeout": 120,
                    "MemorySize": 512,
                    "Environment": {
                        "Variables": {
                            "DATASTORE_IDS": STAGE_DATASTORE_ID,
                            "LEDGER_TABLE_NAME": {"Ref": "LedgerTable77777777"},
                            "OUTCOME_BUS_NAME": {"Ref": "OutcomeBus88888888"},
                            "FAILURE_DLQ_URL": {"Ref": "IngestDlq11111111"},
                            "INGEST_QUEUE_URL": {"Ref": "IngestQueue22222222"},
                            "KEY_ARN": {"Fn::GetAtt": ["Key961B73FD", "Arn"]},
                            "IMPORT_RULES_PATH": {"Fn::Join": ["/", ["/var/task", "import-rules.json"]]},
                        }
                    },
                },
            },
            "IngestMappingCCCCCCCC": _mapping("IngestQueue22222222"),
            "FifoMappingDDDDDDDD": _mapping("FifoQueue44444444"),
        },
    }


PROBE_HANDLERS = "tests.local.stack.lambda_task_root.probe_function"


def _function(name: str, handler: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": f"svc-dev-{name}",
            "Handler": f"{PROBE_HANDLERS}.{handler}",
            "Timeout": 30,
            "MemorySize": 256,
            "Environment": {"Variables": {"FUNCTION_ROLE": name, **variables}},
        },
    }


def three_function_stack_resources() -> dict[str, Any]:
    """The lane design's shape: intake on the ingest queues, apply on an internal FIFO lane queue,
    finalize on the redrive DLQs; probe handlers stand in for the three."""
    document = handwritten_stack_resources()
    resources = document["Resources"]
    del resources["UpdaterFunction1A2B3C4D"]
    resources |= {
        "LaneDlqEEEEEEEE": _queue("svc-dev-lane-dlq.fifo", fifo=True),
        "LaneQueueFFFFFFFF": _queue("svc-dev-lane.fifo", fifo=True, dlq="LaneDlqEEEEEEEE"),
        "IntakeFunction11": _function(
            "intake", "forward_to_lane", {"LANE_QUEUE_URL": {"Ref": "LaneQueueFFFFFFFF"}}
        ),
        "ApplyFunction222": _function("apply", "record_deliveries", {}),
        "FinalizeFunction": _function(
            "finalize", "record_deliveries", {"OUTCOME_BUS_NAME": {"Ref": "OutcomeBus88888888"}}
        ),
        "IngestMappingCCCCCCCC": _mapping("IngestQueue22222222", "IntakeFunction11"),
        "FifoMappingDDDDDDDD": _mapping("FifoQueue44444444", "IntakeFunction11"),
        "LaneMapping333333": _mapping("LaneQueueFFFFFFFF", "ApplyFunction222"),
        "IngestDlqMapping44": _mapping("IngestDlq11111111", "FinalizeFunction"),
    }
    return document
