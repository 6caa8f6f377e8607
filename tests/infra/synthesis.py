"""What the session fixture hands to tests: each stage's config, stack and synthesized template."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Stack
from aws_cdk.assertions import Template

from infra.config import AppConfig, StageConfig
from infra.names import ResourceNames


@dataclass(frozen=True)
class SynthesizedStage:
    config: StageConfig
    names: ResourceNames
    stack: Stack
    template: Template
    template_file: Path

    @property
    def raw(self) -> dict[str, Any]:
        return self.template.to_json()

    def resources_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.raw["Resources"].items() if v["Type"] == resource_type}


@dataclass(frozen=True)
class SynthesizedApp:
    config: AppConfig
    outdir: Path
    stages: dict[str, SynthesizedStage]
