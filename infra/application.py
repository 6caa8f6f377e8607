"""Builds the CDK app from cdk.json: one stack per selected stage, cdk-nag checks on everything.

`python app.py`, `npx cdk synth` and the tests all go through `build_app`, so they synthesize the
same templates: the cdk.json context (stages and feature flags) is loaded here even when the CDK
CLI is not the caller, the git-ignored cdk.context.local.json is merged over it (a deployment's
own accounts and data stores, see infra.config), and CLI `-c key=value` values override both.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Aspects
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks

from infra.config import (
    CDK_JSON,
    REPO_ROOT,
    AppConfig,
    StageConfig,
    merged_context,
    parse_app_config,
    read_cdk_context,
    read_local_context,
)
from infra.import_rules import check_import_rules_file
from infra.stack import MetadataUpdaterStack

STAGE_CONTEXT_KEY = "stage"
# `-c bundle=false` synthesizes without building the Lambda asset (no pip, no network): the asset is
# then `lambdas/` as is. The CDK CLI always says which stacks to bundle (all of them for synth and
# deploy); a plain `python app.py` says nothing and is a check run, so it does not bundle either.
BUNDLE_CONTEXT_KEY = "bundle"
BUNDLING_STACKS_CONTEXT_KEY = "aws:cdk:bundling-stacks"


def selected_stages(config: AppConfig, requested: str | None) -> list[StageConfig]:
    """`-c stage=<name>` selects one stage; without it every stage in cdk.json is synthesized."""
    if requested:
        return [config.stage(requested)]
    return list(config.stages.values())


def local_overrides(
    app_context: Mapping[str, Any], shipped: Mapping[str, Any], local: Mapping[str, Any]
) -> dict[str, Any]:
    """Context values to set on the app: the local file merged over each key the app got as cdk.json
    has it. The CDK CLI hands the app cdk.json's context again (CDK_CONTEXT_JSON, which wins over
    `App(context=)`); a key that differs from cdk.json was replaced with `-c` and stays as given."""
    return {
        key: merged_context(app_context.get(key), value)
        for key, value in local.items()
        if _without_nulls(app_context.get(key)) == _without_nulls(shipped.get(key))
    }


def _without_nulls(value: Any) -> Any:
    """Context as it comes back through jsii, which drops members whose value is null."""
    if isinstance(value, Mapping):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def build_app(
    *,
    context: Mapping[str, Any] | None = None,
    outdir: str | None = None,
    cdk_json: Path = CDK_JSON,
    repo_root: Path = REPO_ROOT,
) -> App:
    app = App(context={**read_cdk_context(cdk_json), **(context or {})}, outdir=outdir)
    current = {key: app.node.try_get_context(key) for key in read_local_context(cdk_json)}
    overrides = local_overrides(
        current, read_cdk_context(cdk_json, with_local=False), read_local_context(cdk_json)
    )
    for key, value in overrides.items():
        app.node.set_context(key, value)
    bundle_off = str(app.node.try_get_context(BUNDLE_CONTEXT_KEY)).lower() == "false"
    if bundle_off or app.node.try_get_context(BUNDLING_STACKS_CONTEXT_KEY) is None:
        app.node.set_context(BUNDLING_STACKS_CONTEXT_KEY, [])
    config = parse_app_config(
        {key: app.node.try_get_context(key) for key in ("service", "stages")},
    )
    for stage in selected_stages(config, app.node.try_get_context(STAGE_CONTEXT_KEY)):
        rules_file = stage.import_rules_path(repo_root)
        if rules_file is not None:
            check_import_rules_file(stage.name, rules_file)
        MetadataUpdaterStack(app, stage=stage, service=config.service, repo_root=repo_root)
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    Aspects.of(app).add(HIPAASecurityChecks(verbose=True))
    return app
