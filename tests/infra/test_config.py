"""cdk.json's stage table: parsed into typed settings, bad values rejected with the stage and key named."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from infra.application import build_app, selected_stages
from infra.config import (
    CDK_JSON,
    ConfigError,
    load_stage_config,
    parse_app_config,
    read_cdk_context,
)
from infra.names import ResourceNames, updater_environment
from updater.settings import UpdaterSettings

SQS_QUEUE_NAME_LIMIT = 80
DYNAMODB_TABLE_NAME_LIMIT = 255


@pytest.fixture
def context() -> dict[str, Any]:
    return copy.deepcopy(read_cdk_context())


def dev_with(context: dict[str, Any], **changes: Any) -> dict[str, Any]:
    context["stages"]["dev"].update(changes)
    return context


def test_cdk_json_defines_the_three_environments_each_in_its_own_account(context: dict[str, Any]) -> None:
    config = parse_app_config(context)

    assert set(config.stages) == {"dev", "staging", "prod"}
    assert len({stage.account for stage in config.stages.values()}) == 3


def test_load_stage_config_reads_one_stage_without_synthesizing() -> None:
    prod = load_stage_config("prod")
    raw = json.loads(CDK_JSON.read_text())["context"]["stages"]["prod"]

    assert prod.name == "prod"
    assert prod.datastore_ids == tuple(raw["datastoreIds"])
    assert prod.timeout_seconds == raw["timeoutSeconds"]
    assert prod.visibility_timeout_seconds == 6 * raw["timeoutSeconds"]
    assert prod.alarms.oldest_message_age_seconds == raw["alarms"]["oldestMessageAgeSeconds"]


def test_import_prefixes_split_into_bucket_and_prefix(context: dict[str, Any]) -> None:
    stage = parse_app_config(
        dev_with(context, importOutputS3Uris=["s3://imaging-out/jobs/2024/", "s3://whole-bucket"])
    ).stage("dev")

    assert [(loc.bucket, loc.prefix) for loc in stage.import_output_locations] == [
        ("imaging-out", "jobs/2024/"),
        ("whole-bucket", ""),
    ]


@pytest.mark.parametrize(
    ("changes", "named_key"),
    [
        ({"datastoreIds": ["NOT-A-DATASTORE-ID"]}, "stages.dev.datastoreIds.0"),
        ({"datastoreIds": []}, "stages.dev.datastoreIds"),
        ({"account": "1234"}, "stages.dev.account"),
        ({"timeoutSeconds": 901}, "stages.dev.timeoutSeconds"),
        ({"batchSize": 11}, "stages.dev.batchSize"),
        ({"logRetentionDays": 10}, "stages.dev.logRetentionDays"),
        ({"payloadLimitBytes": 30_001}, "stages.dev.payloadLimitBytes"),
        ({"importOutputS3Uris": ["https://bucket/prefix/"]}, "stages.dev.importOutputS3Uris.0"),
        ({"importInputS3Uris": ["s3://bucket/prefix-without-slash"]}, "stages.dev.importInputS3Uris.0"),
        ({"memorySize": 512}, "stages.dev.memorySize"),
    ],
)
def test_bad_values_fail_naming_stage_and_key(
    context: dict[str, Any], changes: dict[str, Any], named_key: str
) -> None:
    with pytest.raises(ConfigError) as error:
        parse_app_config(dev_with(context, **changes))

    assert f"{named_key}:" in str(error.value)


def test_missing_key_is_named(context: dict[str, Any]) -> None:
    del context["stages"]["staging"]["maxReceiveCount"]

    with pytest.raises(ConfigError, match=r"stages\.staging\.maxReceiveCount: Field required"):
        parse_app_config(context)


def test_reserved_concurrency_must_cover_every_ingest_mapping(context: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="reservedConcurrency must be at least 3 x maxConcurrency"):
        parse_app_config(dev_with(context, reservedConcurrency=8, maxConcurrency=3))


def test_time_reserve_must_leave_time_to_work(context: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="timeReserveMs"):
        parse_app_config(dev_with(context, timeoutSeconds=10, timeReserveMs=10_000))


def test_stage_names_must_fit_resource_names(context: dict[str, Any]) -> None:
    context["stages"]["Prod_EU"] = context["stages"]["prod"]

    with pytest.raises(ConfigError, match="stage name 'Prod_EU'"):
        parse_app_config(context)


def test_missing_stage_table_is_reported() -> None:
    with pytest.raises(ConfigError, match="non-empty 'stages'"):
        parse_app_config({"service": {}})


def test_unknown_stage_lists_the_known_ones(context: dict[str, Any]) -> None:
    config = parse_app_config(context)

    with pytest.raises(
        ConfigError, match=r"unknown stage 'qa'; cdk.json defines \['dev', 'prod', 'staging'\]"
    ):
        selected_stages(config, "qa")


def test_without_a_stage_every_stage_is_synthesized(context: dict[str, Any]) -> None:
    config = parse_app_config(context)

    assert [stage.name for stage in selected_stages(config, None)] == list(context["stages"])
    assert [stage.name for stage in selected_stages(config, "staging")] == ["staging"]


def test_unreadable_cdk_json_is_a_config_error(tmp_path: Path) -> None:
    broken = tmp_path / "cdk.json"
    broken.write_text("{not json")

    with pytest.raises(ConfigError, match="cannot read"):
        read_cdk_context(broken)


def test_resource_names_fit_aws_limits_for_every_stage(context: dict[str, Any]) -> None:
    config = parse_app_config(context)
    for stage in config.stages:
        names = ResourceNames(config.service.name, stage)
        queues = [names.ingest_queue, names.ingest_dlq, names.fifo_ingest_queue, names.fifo_ingest_dlq]
        queues += [names.requests_rule_dlq, names.import_rule_dlq, names.lane_queue, names.lane_dlq]
        queues += [names.failures_queue, names.finalize_dlq, f"{names.finalize_dlq}.fifo"]
        assert all(len(names.function(role)) <= 64 for role in ("intake", "apply", "finalize"))

        assert all(len(name) <= SQS_QUEUE_NAME_LIMIT for name in queues)
        assert names.fifo_ingest_queue.endswith(".fifo")
        assert names.fifo_ingest_dlq.endswith(".fifo")
        assert len(names.ledger_table) <= DYNAMODB_TABLE_NAME_LIMIT
        assert len(set(queues)) == len(queues)


def test_updater_environment_is_exactly_what_the_lambda_settings_read() -> None:
    config = parse_app_config(read_cdk_context())
    stage = config.stage("dev")
    environment = updater_environment(
        stage,
        config.service,
        ledger_table_name="ledger",
        outcome_bus_name="outcomes",
        failures_queue_url="https://sqs.example/failures",
        lane_queue_url="https://sqs.example/lane.fifo",
        lane_dlq_arn="arn:aws:sqs:us-west-2:111122223333:lane-dlq.fifo",
        import_rules_path="/var/task/import-rules.json",
        rule_queue_arn="arn:aws:sqs:us-west-2:111122223333:rules",
        rule_dlq_arn="arn:aws:sqs:us-west-2:111122223333:rules-dlq",
        trusted_rules='{"arn:aws:events:us-west-2:111122223333:rule/imports":"imports"}',
        audit_bucket="audit",
    )
    settings_keys = {field.alias for field in UpdaterSettings.model_fields.values()}
    powertools_keys = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}

    per_function = {"FUNCTION_CONCURRENCY"}  # set by the stack for each function
    assert set(environment) == settings_keys - per_function | powertools_keys
    settings = UpdaterSettings.model_validate(environment)
    assert settings.allowed_datastores == frozenset(stage.datastore_ids)
    assert settings.payload_limit_bytes == stage.payload_limit_bytes
    assert settings.update_rate_per_second == stage.update_rate_per_second
    assert settings.ledger_ttl_days == stage.ledger_ttl_days
    assert settings.settle_timeout_s == stage.settle_timeout_seconds


@pytest.mark.parametrize(
    ("context", "bundling_stacks"),
    [
        ({}, []),  # plain `python app.py`: a check run, no pip
        ({"bundle": "false", "aws:cdk:bundling-stacks": ["**"]}, []),  # `cdk synth -c bundle=false`
        ({"aws:cdk:bundling-stacks": ["**"]}, ["**"]),  # what the CDK CLI sets for synth and deploy
    ],
)
def test_bundling_only_when_the_cdk_cli_asks_and_bundle_is_not_false(
    context: dict[str, Any], bundling_stacks: list[str]
) -> None:
    app = build_app(context={**context, "stage": "staging"})

    assert app.node.try_get_context("aws:cdk:bundling-stacks") == bundling_stacks
