"""The topology derived from the real CDK app matches the stage configuration in cdk.json."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from infra.config import StageConfig, load_stage_config
from local.moto_stack import AwsClients
from local.stack_template import REPO_ROOT, load_stack_resources, source_fingerprint
from local.topology import LocalTopology, create_topology
from updater.settings import UpdaterSettings

STAGE = "dev"


@pytest.fixture(scope="module")
def stage() -> StageConfig:
    return load_stage_config(STAGE)


@pytest.fixture(scope="module")
def real_topology(aws: AwsClients) -> LocalTopology:
    return create_topology(load_stack_resources(STAGE), aws, name_prefix=f"r{uuid.uuid4().hex[:8]}-")


def test_every_role_of_the_stack_is_found(real_topology: LocalTopology) -> None:
    assert {
        "ingest",
        "ingest_dlq",
        "fifo_ingest",
        "fifo_ingest_dlq",
        "fifo_lane",
        "fifo_lane_dlq",
        "failures",
        "finalize_dlq",
        "fifo_finalize_dlq",
        "import_rule_dlq",
        "requests_rule_dlq",
        "rules",
        "rules_dlq",
    } <= set(real_topology.queues)
    assert set(real_topology.buses) == {"outcome", "requests"}
    assert {"import_completed", "requests"} <= set(real_topology.rules)
    assert {m.queue_role for m in real_topology.event_source_mappings} == {
        "ingest",
        "fifo_ingest",
        "rules",
        "fifo_lane",
        "ingest_dlq",
        "fifo_ingest_dlq",
        "rules_dlq",
        "fifo_lane_dlq",
    }


def test_each_queue_is_polled_by_its_own_function(real_topology: LocalTopology) -> None:
    handlers = {
        m.queue_role: real_topology.function_of(m.queue_role).handler
        for m in real_topology.event_source_mappings
    }
    assert handlers == {
        "ingest": "updater.handlers.intake.lambda_handler",
        "fifo_ingest": "updater.handlers.intake.lambda_handler",
        "rules": "updater.handlers.intake.lambda_handler",
        "fifo_lane": "updater.handlers.apply.lambda_handler",
        "ingest_dlq": "updater.handlers.finalize.lambda_handler",
        "rules_dlq": "updater.handlers.finalize.lambda_handler",
        "fifo_ingest_dlq": "updater.handlers.finalize.lambda_handler",
        "fifo_lane_dlq": "updater.handlers.finalize.lambda_handler",
    }


def test_queues_and_mappings_follow_the_stage_configuration(
    real_topology: LocalTopology, stage: StageConfig
) -> None:
    for role in ("ingest", "fifo_ingest", "rules"):
        queue = real_topology.queue(role)
        assert queue.max_receive_count == stage.max_receive_count
        assert queue.visibility_timeout_s == stage.visibility_timeout_seconds
        assert queue.dead_letter_queue_arn == real_topology.queue(f"{role}_dlq").arn
    lane = real_topology.queue("fifo_lane")
    assert lane.max_receive_count == stage.lane_max_receive_count
    assert lane.dead_letter_queue_arn == real_topology.queue("fifo_lane_dlq").arn
    for mapping in real_topology.event_source_mappings:
        assert mapping.batch_size == stage.batch_size
        assert mapping.report_batch_item_failures
    for function in real_topology.functions.values():
        assert function.timeout_s == stage.timeout_seconds
        assert function.memory_mb == stage.memory_size_mb


def test_function_environment_satisfies_the_updater_settings(real_topology: LocalTopology) -> None:
    settings = UpdaterSettings.model_validate(real_topology.function_of("ingest").environment)
    assert settings.ledger_table_name == real_topology.table_name
    assert settings.outcome_bus_name == real_topology.buses["outcome"]
    assert settings.failures_queue_url == real_topology.queue("failures").url
    assert settings.lane_queue_url == real_topology.queue("fifo_lane").url
    assert settings.lane_dlq_arn == real_topology.queue("fifo_lane_dlq").arn


def test_cache_key_changes_when_infra_sources_change(tmp_path: Path) -> None:
    for name in ("cdk.json", "app.py"):
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    shutil.copytree(REPO_ROOT / "infra", tmp_path / "infra", ignore=shutil.ignore_patterns("__pycache__"))
    before = source_fingerprint(tmp_path, STAGE)
    assert source_fingerprint(tmp_path, STAGE) == before
    assert source_fingerprint(tmp_path, "prod") != before
    with (tmp_path / "infra" / "config.py").open("a", encoding="utf-8") as config:
        config.write("\n# changed\n")
    assert source_fingerprint(tmp_path, STAGE) != before
