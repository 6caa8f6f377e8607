"""The synthesized stack of every stage: three functions on one asset, the lane, the finish queues."""

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


FUNCTIONS = {
    "intake": "updater.handlers.intake.lambda_handler",
    "apply": "updater.handlers.apply.lambda_handler",
    "finalize": "updater.handlers.finalize.lambda_handler",
}


def test_three_functions_from_one_asset_with_runtime_sizing_and_tracing(stage: SynthesizedStage) -> None:
    config = stage.config
    stage.template.resource_count_is("AWS::Lambda::Function", 3)
    reserved = {"intake": config.reserved_concurrency, "apply": config.lane_max_concurrency, "finalize": 8}
    for role, handler in FUNCTIONS.items():
        stage.template.has_resource_properties(
            "AWS::Lambda::Function",
            {
                "FunctionName": stage.names.function(role),
                "Runtime": "python3.12",
                "Architectures": ["arm64"],
                "Handler": handler,
                "MemorySize": config.memory_size_mb,
                "Timeout": config.timeout_seconds,
                "ReservedConcurrentExecutions": reserved[role],
                "TracingConfig": {"Mode": "Active"},
                "KmsKeyArn": Match.any_value(),
                "LoggingConfig": {"LogGroup": Match.any_value()},
            },
        )
    codes = {str(f["Properties"]["Code"]) for f in stage.resources_of_type("AWS::Lambda::Function").values()}
    assert len(codes) == 1


def test_function_environment_points_at_this_stacks_resources(stage: SynthesizedStage) -> None:
    config = stage.config
    environments = [
        f["Properties"]["Environment"]["Variables"]
        for f in stage.resources_of_type("AWS::Lambda::Function").values()
    ]
    # One environment, each function reading its part; only their read budgets' split differs.
    shared = [{k: v for k, v in e.items() if k != "FUNCTION_CONCURRENCY"} for e in environments]
    assert all(e == shared[0] for e in shared)
    concurrency = {
        f["Properties"]["FunctionName"]: f["Properties"]["Environment"]["Variables"]["FUNCTION_CONCURRENCY"]
        for f in stage.resources_of_type("AWS::Lambda::Function").values()
    }
    assert concurrency[stage.names.function("apply")] == str(config.lane_max_concurrency)
    variables = environments[0]
    assert variables["DATASTORE_IDS"] == ",".join(config.datastore_ids)
    assert variables["LEDGER_TABLE_NAME"] == {
        "Ref": next(iter(stage.resources_of_type("AWS::DynamoDB::Table")))
    }
    assert variables["FAILURES_QUEUE_URL"] == {"Ref": queue_id(stage, stage.names.failures_queue)}
    assert variables["LANE_QUEUE_URL"] == {"Ref": queue_id(stage, stage.names.lane_queue)}
    assert variables["LANE_DLQ_ARN"] == arn_of(queue_id(stage, stage.names.lane_dlq))
    assert variables["UPDATE_RATE_PER_SECOND"] == str(config.update_rate_per_second)
    assert variables["PAYLOAD_LIMIT_BYTES"] == str(config.payload_limit_bytes)
    assert variables["SETTLE_TIMEOUT_S"] == str(config.settle_timeout_seconds)
    expected_rules = f"/var/task/{BUNDLED_IMPORT_RULES_FILE}" if config.import_rules_file else ""
    assert variables["IMPORT_RULES_PATH"] == expected_rules


def _mappings_by_function(stage: SynthesizedStage) -> dict[str, set[str]]:
    functions = {
        k: v["Properties"]["FunctionName"]
        for k, v in stage.resources_of_type("AWS::Lambda::Function").items()
    }
    by_function: dict[str, set[str]] = {}
    for mapping in stage.resources_of_type("AWS::Lambda::EventSourceMapping").values():
        name = functions[mapping["Properties"]["FunctionName"]["Ref"]]
        by_function.setdefault(name, set()).add(mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0])
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["Properties"]["BatchSize"] == stage.config.batch_size
    return by_function


def test_each_function_polls_only_its_queues_and_reports_partial_batch_failures(
    stage: SynthesizedStage,
) -> None:
    names = stage.names
    assert _mappings_by_function(stage) == {
        names.function("intake"): {
            queue_id(stage, names.ingest_queue),
            queue_id(stage, names.fifo_ingest_queue),
            queue_id(stage, names.rule_queue),
        },
        names.function("apply"): {queue_id(stage, names.lane_queue)},
        names.function("finalize"): {
            queue_id(stage, n)
            for n in (names.ingest_dlq, names.fifo_ingest_dlq, names.rule_dlq, names.lane_dlq)
        },
    }


def _redrive(stage: SynthesizedStage, name: str) -> dict[str, object]:
    queue = stage.resources_of_type("AWS::SQS::Queue")[queue_id(stage, name)]
    return dict(queue["Properties"].get("RedrivePolicy", {}))


def test_every_consumed_queue_redrives_and_only_the_finalizers_dlqs_are_terminal(
    stage: SynthesizedStage,
) -> None:
    config, names = stage.config, stage.names
    chains = [
        (names.ingest_queue, names.ingest_dlq, config.max_receive_count),
        (names.fifo_ingest_queue, names.fifo_ingest_dlq, config.max_receive_count),
        (names.rule_queue, names.rule_dlq, config.max_receive_count),
        (names.lane_queue, names.lane_dlq, config.lane_max_receive_count),
        (names.ingest_dlq, names.finalize_dlq, 5),
        (names.fifo_ingest_dlq, f"{names.finalize_dlq}.fifo", 5),
        (names.rule_dlq, names.finalize_dlq, 5),
        (names.lane_dlq, f"{names.finalize_dlq}.fifo", 5),
    ]
    for queue, dead_letter, receives in chains:
        assert _redrive(stage, queue) == {
            "deadLetterTargetArn": arn_of(queue_id(stage, dead_letter)),
            "maxReceiveCount": receives,
        }, queue
    for terminal in (names.finalize_dlq, f"{names.finalize_dlq}.fifo", names.failures_queue):
        assert _redrive(stage, terminal) == {}
    queues = stage.resources_of_type("AWS::SQS::Queue")
    for polled in (names.ingest_queue, names.fifo_ingest_queue, names.rule_queue, names.lane_queue):
        assert (
            queues[queue_id(stage, polled)]["Properties"]["VisibilityTimeout"] >= 6 * config.timeout_seconds
        )
    for retained in (names.ingest_dlq, names.lane_dlq, names.failures_queue, names.finalize_dlq):
        assert queues[queue_id(stage, retained)]["Properties"]["MessageRetentionPeriod"] == FOURTEEN_DAYS


def test_the_lane_is_fifo_and_its_receives_outlast_the_longest_settle_wait(stage: SynthesizedStage) -> None:
    """Every wait on the lane is one receive: the slowest settle the stage allows must fit."""
    from updater.domain.settle import SettlePolicy, worst_case_polls  # noqa: PLC0415

    config = stage.config
    lane = stage.resources_of_type("AWS::SQS::Queue")[queue_id(stage, stage.names.lane_queue)]["Properties"]
    assert lane["FifoQueue"] is True
    polls = worst_case_polls(
        SettlePolicy(timeout_s=config.settle_timeout_seconds), config.settle_inline_ms / 1000
    )
    assert config.lane_max_receive_count >= polls + 20  # and room for pacing, lock and transient waits


def test_every_queue_is_encrypted_with_the_stage_key(stage: SynthesizedStage) -> None:
    (key_id,) = stage.resources_of_type("AWS::KMS::Key")
    queues = stage.resources_of_type("AWS::SQS::Queue")

    # 2 caller queues and the rules queue + their DLQs, the lane + its DLQ, failures, 2 finalizer
    # DLQs, 3 rule-target DLQs
    assert len(queues) == 14
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
            "LogGroupName": stage.names.log_group("apply"),
            "RetentionInDays": stage.config.log_retention_days,
            "KmsKeyId": arn_of(key_id),
        },
    )


# Each rule stamps its deliveries with its own ARN (intake trusts a HealthImaging event only so).
RULE_STAMP = {
    "InputPathsMap": {"f1": "$"},
    "InputTemplate": '{"deliveredBy":"<aws.events.rule-arn>","event":<f1>}',
}


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
                # Per image set as well as per job: the import rules apply whichever comes first.
                "detail-type": ["Import Job Completed", "Image Set Created"],
                "detail": {"datastoreId": list(stage.config.datastore_ids)},
            },
            "Targets": [
                Match.object_like(
                    {
                        "Arn": arn_of(queue_id(stage, stage.names.rule_queue)),
                        "InputTransformer": RULE_STAMP,
                        "DeadLetterConfig": {"Arn": arn_of(dlq)},
                    }
                )
            ],
        },
    )


def test_settle_events_of_the_configured_datastores_reach_intake(stage: SynthesizedStage) -> None:
    stage.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventBusName": Match.absent(),
            "EventPattern": {
                "source": ["aws.medical-imaging"],
                "detail-type": ["Image Set Updated", "Image Set Update Failed"],
                "detail": {"datastoreId": list(stage.config.datastore_ids)},
            },
            "Targets": [
                Match.object_like(
                    {
                        "Arn": arn_of(queue_id(stage, stage.names.rule_queue)),
                        "InputTransformer": RULE_STAMP,
                        "DeadLetterConfig": {"Arn": arn_of(queue_id(stage, stage.names.settle_rule_dlq))},
                    }
                )
            ],
        },
    )


def test_requests_bus_rule_forwards_update_requests_to_the_rules_queue(stage: SynthesizedStage) -> None:
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
                        "Arn": arn_of(queue_id(stage, stage.names.rule_queue)),
                        "InputTransformer": RULE_STAMP,
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


def test_alarms_page_on_losses_stuck_redrives_backlogs_errors_and_failure_rates(
    stage: SynthesizedStage,
) -> None:
    alarms = stage.resources_of_type("AWS::CloudWatch::Alarm")
    (topic_id,) = stage.resources_of_type("AWS::SNS::Topic")
    names = stage.names
    lost = [
        names.finalize_dlq,
        f"{names.finalize_dlq}.fifo",
        names.requests_rule_dlq,
        names.import_rule_dlq,
        names.settle_rule_dlq,
    ]
    by_metric: dict[str, list[dict[str, object]]] = {}
    for alarm in alarms.values():
        by_metric.setdefault(str(alarm["Properties"]["MetricName"]), []).append(alarm["Properties"])

    def queues(found: list[dict[str, object]]) -> list[str]:
        return sorted(str(a["Dimensions"]) for a in found)

    def dimension(name: str) -> str:
        return str([{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id(stage, name), "QueueName"]}}])

    depth_alarms = by_metric["ApproximateNumberOfMessagesVisible"]
    assert queues(depth_alarms) == sorted(dimension(n) for n in lost)  # the failures queue is not one
    assert all(
        a["Threshold"] == 0 and a["ComparisonOperator"] == "GreaterThanThreshold" for a in depth_alarms
    )
    age = {str(a["Dimensions"]): a["Threshold"] for a in by_metric["ApproximateAgeOfOldestMessage"]}
    for backlog in (names.ingest_queue, names.fifo_ingest_queue, names.lane_queue):
        assert age[dimension(backlog)] == stage.config.alarms.oldest_message_age_seconds
    for redrive in (names.ingest_dlq, names.fifo_ingest_dlq, names.lane_dlq):
        assert dimension(redrive) in age
    assert len(by_metric["Errors"]) == len(by_metric["Throttles"]) == 3
    assert {a["Threshold"] for a in by_metric["Errors"]} == {stage.config.alarms.lambda_errors}
    (update_failed,) = by_metric["UpdateFailed"]
    assert update_failed["Namespace"] == "HealthImagingMetadataUpdater"
    assert update_failed["Dimensions"] == [{"Name": "service", "Value": "healthimaging-metadata-updater"}]
    assert update_failed["Threshold"] == stage.config.alarms.update_failed
    assert "InternalError" in by_metric
    # Failed imports page; rejected input does not (it is in the failure rate, not a queue depth).
    assert {"ImportFailed", "ImportJobNotCompleted"} <= set(by_metric)
    assert "RequestIdReused" not in by_metric and "FailedByReason" not in by_metric
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
    # Explained failures as a rate and by reason, refused input and imports beside them.
    for shown in (
        "FailedByReason",
        "Failed outcomes (%)",
        "RequestIdReused",
        "UnanswerableRecords",
        "ImportFailed",
    ):
        assert shown in body, shown


def test_outputs_tell_other_services_where_to_submit(stage: SynthesizedStage) -> None:
    outputs = stage.raw["Outputs"]

    assert outputs["IngestQueueUrl"]["Value"] == {"Ref": queue_id(stage, stage.names.ingest_queue)}
    assert outputs["IngestFifoQueueUrl"]["Value"] == {"Ref": queue_id(stage, stage.names.fifo_ingest_queue)}
    assert {"RequestsBusName", "OutcomeBusName", "LedgerTableName", "FailuresQueueUrl", "StageKeyArn"} <= set(
        outputs
    )


def test_production_data_survives_stack_deletion(synthesized: SynthesizedApp) -> None:
    for stage in synthesized.stages.values():
        retained = stage.config.removal_policy == "retain"
        stateful = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::KMS::Key", "AWS::Logs::LogGroup")
        for resource_type in stateful:
            for resource in stage.resources_of_type(resource_type).values():
                assert resource.get("DeletionPolicy") == ("Retain" if retained else "Delete"), resource_type
    assert synthesized.stages["prod"].config.removal_policy == "retain"
