"""The CloudFormation resources of the real CDK app that the local stack recreates in moto.

The app is synthesized the way the CDK CLI does it (`python app.py` with `CDK_OUTDIR` and
`CDK_CONTEXT_JSON`), so this works whatever shape app.py has. Bundling is skipped (context
`aws:cdk:bundling-stacks = []`): the local stack never deploys the function code, and synthesis must
stay offline. Synthesis takes seconds, so the extracted resources are cached as JSON keyed by a hash
of everything that can change them (cdk.json, app.py, infra/ and this extractor).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE_DIR = REPO_ROOT / "build" / "local-topology"
DEFAULT_STAGE = "dev"
# Bump when the extraction below changes, so stale caches are not reused.
EXTRACTION_VERSION = "1"
SYNTH_TIMEOUT_SECONDS = 300

# What the local stack creates in moto, plus what it needs to run the function like Lambda does.
LOCAL_RESOURCE_TYPES = frozenset(
    {
        "AWS::SQS::Queue",
        "AWS::DynamoDB::Table",
        "AWS::Events::EventBus",
        "AWS::Events::Rule",
        "AWS::Lambda::EventSourceMapping",
        "AWS::S3::Bucket",
    }
)
FUNCTION_TYPE = "AWS::Lambda::Function"
# Function properties the poller needs; the code asset and role are AWS-only.
FUNCTION_PROPERTIES = ("FunctionName", "Handler", "Runtime", "Timeout", "MemorySize", "Environment")


class StackTemplateError(RuntimeError):
    """The CDK app could not be synthesized, or its template lacks what the local stack needs."""


def load_stack_resources(
    stage: str = DEFAULT_STAGE, repo_root: Path = REPO_ROOT, cache_dir: Path | None = None
) -> dict[str, Any]:
    """The stage's stack template reduced to the resources the local stack recreates (cached)."""
    cache_dir = cache_dir or repo_root / "build" / "local-topology"
    cache_file = cache_dir / f"{stage}-{source_fingerprint(repo_root, stage)}.json"
    if cache_file.is_file():
        cached: dict[str, Any] = json.loads(cache_file.read_text(encoding="utf-8"))
        return cached
    template = synthesize_stack_template(stage, repo_root)
    resources = extract_local_resources(template)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Write then rename: concurrent test sessions must never read a half-written cache file.
    partial = cache_file.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(resources, indent=1, sort_keys=True), encoding="utf-8")
    partial.replace(cache_file)
    return resources


def source_fingerprint(repo_root: Path, stage: str) -> str:
    """A hash of every file that shapes the synthesized template."""
    digest = hashlib.sha256(f"{EXTRACTION_VERSION}:{stage}".encode())
    sources = [repo_root / "cdk.json", repo_root / "app.py", *sorted((repo_root / "infra").rglob("*.py"))]
    for source in sources:
        if source.is_file():
            digest.update(str(source.relative_to(repo_root)).encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def synthesize_stack_template(stage: str, repo_root: Path = REPO_ROOT) -> dict[str, Any]:
    """Runs the real app for one stage and returns the template of the stack that runs the updater."""
    if not (repo_root / "app.py").is_file():
        raise StackTemplateError(f"no CDK app at {repo_root / 'app.py'}")
    context = _cdk_json_context(repo_root) | {"stage": stage, "aws:cdk:bundling-stacks": []}
    with tempfile.TemporaryDirectory(prefix="local-synth-") as outdir:
        environment = os.environ | {"CDK_OUTDIR": outdir, "CDK_CONTEXT_JSON": json.dumps(context)}
        completed = subprocess.run(
            [sys.executable, "app.py"],
            cwd=repo_root,
            env=environment,
            capture_output=True,
            text=True,
            timeout=SYNTH_TIMEOUT_SECONDS,
            check=False,
        )
        if completed.returncode != 0:
            raise StackTemplateError(f"synthesizing stage {stage!r} failed:\n{completed.stderr[-4000:]}")
        return _updater_stack_template(Path(outdir), stage)


def _cdk_json_context(repo_root: Path) -> dict[str, Any]:
    # The CDK CLI passes cdk.json's context to the app; running app.py directly must do the same.
    document = json.loads((repo_root / "cdk.json").read_text(encoding="utf-8"))
    context: dict[str, Any] = document.get("context", {})
    return context


def _updater_stack_template(assembly_dir: Path, stage: str) -> dict[str, Any]:
    """Picks the stack that holds event source mappings, preferring one named after the stage."""
    candidates = []
    for template_file in sorted(assembly_dir.rglob("*.template.json")):
        template = json.loads(template_file.read_text(encoding="utf-8"))
        resources = template.get("Resources", {})
        if any(r.get("Type") == "AWS::Lambda::EventSourceMapping" for r in resources.values()):
            candidates.append((stage.lower() in template_file.name.lower(), template))
    if not candidates:
        raise StackTemplateError(f"no synthesized stack for stage {stage!r} defines an SQS event source")
    candidates.sort(key=lambda candidate: not candidate[0])
    return candidates[0][1]


def extract_local_resources(template: dict[str, Any]) -> dict[str, Any]:
    """Keeps queues, tables, buses, rules, buckets, event source mappings and the functions they invoke."""
    resources: dict[str, Any] = template.get("Resources", {})
    kept = {
        logical_id: {"Type": r["Type"], "Properties": r.get("Properties", {})}
        for logical_id, r in resources.items()
        if r.get("Type") in LOCAL_RESOURCE_TYPES
    }
    for mapping in [r for r in kept.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]:
        function_id = referenced_logical_id(mapping["Properties"].get("FunctionName"))
        if function_id is None or resources.get(function_id, {}).get("Type") != FUNCTION_TYPE:
            raise StackTemplateError("an event source mapping does not name a function of the stack")
        properties = resources[function_id].get("Properties", {})
        kept[function_id] = {
            "Type": FUNCTION_TYPE,
            "Properties": {key: properties[key] for key in FUNCTION_PROPERTIES if key in properties},
        }
    parameters = {
        name: {"Default": p["Default"]}
        for name, p in template.get("Parameters", {}).items()
        if "Default" in p
    }
    return {"Parameters": parameters, "Resources": kept}


def referenced_logical_id(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None
