"""Synthesizes the real app (every stage in cdk.json) once per session, without bundling."""

from __future__ import annotations

import os

import pytest

# jsii prints a banner about the Node.js version on every start; it is noise in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import Stack
from aws_cdk.assertions import Template

from infra.application import build_app
from infra.config import AppConfig, load_app_config
from infra.names import ResourceNames
from tests.infra.synthesis import SynthesizedApp, SynthesizedStage


@pytest.fixture(scope="session")
def app_config() -> AppConfig:
    return load_app_config()


@pytest.fixture(scope="session")
def synthesized(app_config: AppConfig, tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(context={"aws:cdk:bundling-stacks": []}, outdir=str(outdir))
    # Raises if any cdk-nag rule reports an unsuppressed error (the validation report feature flag).
    assembly = app.synth()
    stacks = {child.node.id: child for child in app.node.children if isinstance(child, Stack)}
    stages = {}
    for name, stage in app_config.stages.items():
        names = ResourceNames(app_config.service.name, name)
        stack = stacks[names.prefix]
        artifact = assembly.get_stack_by_name(stack.stack_name)
        stages[name] = SynthesizedStage(
            config=stage,
            names=names,
            stack=stack,
            template=Template.from_stack(stack),
            template_file=outdir / artifact.template_file,
        )
    return SynthesizedApp(config=app_config, outdir=outdir, stages=stages)


@pytest.fixture(scope="session", params=sorted(load_app_config().stages))
def stage(request: pytest.FixtureRequest, synthesized: SynthesizedApp) -> SynthesizedStage:
    """Each stage in cdk.json in turn: every assertion runs for every environment."""
    return synthesized.stages[request.param]
