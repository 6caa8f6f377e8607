"""The synthesized stack of every stage holds the resources and properties issue 4 asks for."""

from __future__ import annotations

from aws_cdk.assertions import Match

from infra.ledger import PARTITION_KEY, TTL_ATTRIBUTE
from infra.names import BUNDLED_IMPORT_RULES_FILE
from tests.infra.synthesis import SynthesizedApp, SynthesizedStage

FOURTEEN_DAYS = 14 * 24 * 3600
UPDATER_METRICS = (
    "Succeeded",
    "UpdateFailed",
    "NoOp",
    "ConflictRetried",
    "Throttled",
    "PollsPerUpdate",
    "TimeToSettleMs",
    "UpdateCalls",
    "CallsSavedByCoalescing",
    "TokenWaitMs",
)


def queue_id(stage: SynthesizedStage, queue_name: str) -> str:
    queues = stage.resources_of_type("AWS::SQS::Queue")
    (logical_id,) = [k for k, v in queues.items() if v["Properties"]["QueueName"] == queue_name]
    return logical_id


def arn_of(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def test_one_stack_per_stage_in_its_configured_account_and_region(synthesized: SynthesizedApp) -> None:
    assert set(synthesized.stages) == set(synthesized.config.stages)
    for stage in synthesized.stages.values():
        assert stage.stack.account == stage.config.account
        assert stage.stack.region == stage.config.region
        assert stage.stack.stack_name == stage.names.prefix


def test_function_runtime_sizing_and_tracing(stage: SynthesizedStage) -> None:
    config = stage.config
    stage.template.resource_count_is("AWS::Lambda::Function", 1)
    stage.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": stage.names.function,
            "Runtime": "python3.12",
            "Architectures": ["arm64"],
            "Handler": "updater.handler.lambda_handler",
            "MemorySize": config.memory_size_mb,
            "Timeout": config.timeout_seconds,
            "ReservedConcurrentExecutions": config.reserved_concurrency,
            "TracingConfig": {"Mode": "Active"},
            "KmsKeyArn": Match.any_value(),
            "LoggingConfig": {"LogGroup": Match.any_value()},
        },
    )


def test_function_environment_points_at_this_stacks_resources(stage: SynthesizedStage) -> None:
    (function,) = stage.resources_of_type("AWS::Lambda::Function").values()
    variables = function["Properties"]["Environment"]["Variables"]
    config = stage.config

    assert variables["DATASTORE_IDS"] == ",".join(config.datastore_ids)
    assert variables["LEDGER_TABLE_NAME"] == {
        "Ref": next(iter(stage.resources_of_type("AWS::DynamoDB::Table")))
    }
    assert variables["FAILURE_DLQ_URL"] == {"Ref": queue_id(stage, stage.names.ingest_dlq)}
    assert variables["INGEST_QUEUE_URL"] == {"Ref": queue_id(stage, stage.names.ingest_queue)}
    assert variables["UPDATE_RATE_PER_SECOND"] == str(config.update_rate_per_second)
    assert variables["PAYLOAD_LIMIT_BYTES"] == str(config.payload_limit_bytes)
    expected_rules = f"/var/task/{BUNDLED_IMPORT_RULES_FILE}" if config.import_rules_file else ""
    assert variables["IMPORT_RULES_PATH"] == expected_rules


def test_event_source_mappings_report_partial_batch_failures(stage: SynthesizedStage) -> None:
    config = stage.config
    mappings = stage.resources_of_type("AWS::Lambda::EventSourceMapping")
    sources = {str(m["Properties"]["EventSourceArn"]) for m in mappings.values()}

    assert sources == {
        str(arn_of(queue_id(stage, stage.names.ingest_queue))),
        str(arn_of(queue_id(stage, stage.names.fifo_ingest_queue))),
    }
    for mapping in mappings.values():
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["Properties"]["BatchSize"] == config.batch_size
        assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": config.max_concurrency}


def test_ingest_queues_redrive_to_their_own_dlq_with_visibility_six_times_the_timeout(
    stage: SynthesizedStage,
) -> None:
    config = stage.config
    pairs = [
        (stage.names.ingest_queue, stage.names.ingest_dlq, False),
        (stage.names.fifo_ingest_queue, stage.names.fifo_ingest_dlq, True),
    ]
    for queue_name, dlq_name, fifo in pairs:
        stage.template.has_resource_properties(
            "AWS::SQS::Queue",
            {
                "QueueName": queue_name,
                "FifoQueue": True if fifo else Match.absent(),
                "VisibilityTimeout": Match.any_value(),
                "RedrivePolicy": {
                    "deadLetterTargetArn": arn_of(queue_id(stage, dlq_name)),
                    "maxReceiveCount": config.max_receive_count,
                },
            },
        )
        stage.template.has_resource_properties(
            "AWS::SQS::Queue",
            {
                "QueueName": dlq_name,
                "FifoQueue": True if fifo else Match.absent(),
                "MessageRetentionPeriod": FOURTEEN_DAYS,
            },
        )
        queue = stage.resources_of_type("AWS::SQS::Queue")[queue_id(stage, queue_name)]
        assert queue["Properties"]["VisibilityTimeout"] >= 6 * config.timeout_seconds


def test_every_queue_is_encrypted_with_the_stage_key(stage: SynthesizedStage) -> None:
    (key_id,) = stage.resources_of_type("AWS::KMS::Key")
    queues = stage.resources_of_type("AWS::SQS::Queue")

    assert len(queues) == 6  # 2 ingest, 2 redrive DLQs, 2 rule-target DLQs
    for queue in queues.values():
        assert queue["Properties"]["KmsMasterKeyId"] == arn_of(key_id)


def test_key_rotates(stage: SynthesizedStage) -> None:
    stage.template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_ledger_table_on_demand_with_ttl_pitr_and_cmk(stage: SynthesizedStage) -> None:
    (key_id,) = stage.resources_of_type("AWS::KMS::Key")
    stage.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": stage.names.ledger_table,
            "KeySchema": [{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": PARTITION_KEY, "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": arn_of(key_id)},
        },
    )


def test_log_group_retention_and_encryption(stage: SynthesizedStage) -> None:
    (key_id,) = stage.resources_of_type("AWS::KMS::Key")
    stage.template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {
            "LogGroupName": stage.names.log_group,
            "RetentionInDays": stage.config.log_retention_days,
            "KmsKeyId": arn_of(key_id),
        },
    )


def test_import_completed_rule_matches_the_real_event_for_configured_datastores(
    stage: SynthesizedStage,
) -> None:
    dlq = queue_id(stage, stage.names.import_rule_dlq)
    stage.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventBusName": Match.absent(),  # the default bus, where AWS services publish
            "EventPattern": {
                "source": ["aws.medical-imaging"],
                "detail-type": ["Import Job Completed"],
                "detail": {"datastoreId": list(stage.config.datastore_ids)},
            },
            "Targets": [
                Match.object_like(
                    {
                        "Arn": arn_of(queue_id(stage, stage.names.ingest_queue)),
                        "DeadLetterConfig": {"Arn": arn_of(dlq)},
                    }
                )
            ],
        },
    )


def test_requests_bus_rule_forwards_update_requests_to_ingest(stage: SynthesizedStage) -> None:
    buses = stage.resources_of_type("AWS::Events::EventBus")
    (requests_bus,) = [k for k, v in buses.items() if v["Properties"]["Name"] == stage.names.requests_bus]
    stage.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventBusName": {"Ref": requests_bus},
            "EventPattern": {"detail-type": ["ImageSetMetadataUpdate.Requested"]},
            "Targets": [
                Match.object_like(
                    {
                        "Arn": arn_of(queue_id(stage, stage.names.ingest_queue)),
                        "DeadLetterConfig": {"Arn": arn_of(queue_id(stage, stage.names.requests_rule_dlq))},
                    }
                )
            ],
        },
    )
    assert {bus["Properties"]["Name"] for bus in buses.values()} == {
        stage.names.requests_bus,
        stage.names.outcome_bus,
    }


def test_alarm_on_every_dlq_backlog_errors_throttles_and_update_failures(stage: SynthesizedStage) -> None:
    alarms = stage.resources_of_type("AWS::CloudWatch::Alarm")
    (topic_id,) = stage.resources_of_type("AWS::SNS::Topic")
    dlq_names = [
        stage.names.ingest_dlq,
        stage.names.fifo_ingest_dlq,
        stage.names.requests_rule_dlq,
        stage.names.import_rule_dlq,
    ]
    by_metric: dict[str, list[dict[str, object]]] = {}
    for alarm in alarms.values():
        by_metric.setdefault(alarm["Properties"]["MetricName"], []).append(alarm["Properties"])

    depth_alarms = by_metric["ApproximateNumberOfMessagesVisible"]
    assert sorted(str(a["Dimensions"]) for a in depth_alarms) == sorted(
        str([{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id(stage, n), "QueueName"]}}])
        for n in dlq_names
    )
    assert all(
        a["Threshold"] == 0 and a["ComparisonOperator"] == "GreaterThanThreshold" for a in depth_alarms
    )
    assert [a["Threshold"] for a in by_metric["ApproximateAgeOfOldestMessage"]] == [
        stage.config.alarms.oldest_message_age_seconds
    ] * 2
    assert by_metric["Errors"][0]["Threshold"] == stage.config.alarms.lambda_errors
    assert by_metric["Throttles"][0]["Threshold"] == stage.config.alarms.lambda_throttles
    (update_failed,) = by_metric["UpdateFailed"]
    assert update_failed["Namespace"] == "HealthImagingMetadataUpdater"
    assert update_failed["Dimensions"] == [{"Name": "service", "Value": "healthimaging-metadata-updater"}]
    assert update_failed["Threshold"] == stage.config.alarms.update_failed
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]


def test_alarm_topic_is_encrypted(stage: SynthesizedStage) -> None:
    (key_id,) = stage.resources_of_type("AWS::KMS::Key")
    stage.template.has_resource_properties(
        "AWS::SNS::Topic", {"TopicName": stage.names.alarm_topic, "KmsMasterKeyId": arn_of(key_id)}
    )


def test_dashboard_shows_every_updater_metric(stage: SynthesizedStage) -> None:
    (dashboard,) = stage.resources_of_type("AWS::CloudWatch::Dashboard").values()
    body = str(dashboard["Properties"]["DashboardBody"])

    missing = [metric for metric in UPDATER_METRICS if f'"{metric}"' not in body]
    assert missing == []


def test_outputs_tell_other_services_where_to_submit(stage: SynthesizedStage) -> None:
    outputs = stage.raw["Outputs"]

    assert outputs["IngestQueueUrl"]["Value"] == {"Ref": queue_id(stage, stage.names.ingest_queue)}
    assert outputs["IngestFifoQueueUrl"]["Value"] == {"Ref": queue_id(stage, stage.names.fifo_ingest_queue)}
    assert {"RequestsBusName", "OutcomeBusName", "LedgerTableName", "FailureDlqUrl"} <= set(outputs)


def test_production_data_survives_stack_deletion(synthesized: SynthesizedApp) -> None:
    for stage in synthesized.stages.values():
        retained = stage.config.removal_policy == "retain"
        stateful = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::KMS::Key", "AWS::Logs::LogGroup")
        for resource_type in stateful:
            for resource in stage.resources_of_type(resource_type).values():
                assert resource.get("DeletionPolicy") == ("Retain" if retained else "Delete"), resource_type
    assert synthesized.stages["prod"].config.removal_policy == "retain"
