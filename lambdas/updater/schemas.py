"""Export the JSON Schemas of the request and of the outcome events, generated from the pydantic models.

    PYTHONPATH=lambdas python -m updater.schemas           # (re)write events/schemas/*.json
    PYTHONPATH=lambdas python -m updater.schemas --check   # exit 1 when the committed files drifted

The committed files are what producers and consumers read; a unit test runs the check so a model change
without regenerating them fails the build. `updater.schema_contract` adds the structural rules the
models' own schemas cannot express (one update kind, the attribute document's skeleton).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from updater.domain.audit import AuditRecord
from updater.domain.batch import (
    DETAIL_TYPE_BATCH_FAILED,
    DETAIL_TYPE_BATCH_PARTIALLY_FAILED,
    DETAIL_TYPE_BATCH_SUCCEEDED,
    BatchOutcome,
)
from updater.domain.errors import FailureCode
from updater.domain.outcome import DETAIL_TYPE_FAILED, DETAIL_TYPE_SUCCEEDED, SOURCE, UpdateOutcome
from updater.domain.request import CliUpdateInput, UpdateRequest
from updater.domain.selectors import MergeRequest, SelectorRequest
from updater.imports.runner import IMPORT_FAILED_DETAIL_TYPE, IMPORT_SUMMARY_DETAIL_TYPE
from updater.imports.summary import ImportSummary
from updater.schema_contract import add_outcome_rules, add_request_rules

DRAFT = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "events" / "schemas"


def request_schema() -> dict[str, Any]:
    """Either accepted shape: the native request or unchanged ``--cli-input-json`` input."""
    _, definitions = models_json_schema(
        [(UpdateRequest, "validation"), (CliUpdateInput, "validation")], by_alias=True
    )
    return {
        "$schema": DRAFT,
        "title": "ImageSetMetadataUpdateRequest",
        "description": (
            "An SQS message body or EventBridge detail asking the updater to change one image set. "
            "Give either the native shape or the aws medical-imaging update-image-set-metadata "
            "--cli-input-json shape, where latestVersionId acts as expectedVersionId."
        ),
        "anyOf": [{"$ref": "#/$defs/UpdateRequest"}, {"$ref": "#/$defs/CliUpdateInput"}],
        "$defs": add_request_rules(definitions["$defs"]),
    }


def outcome_schema() -> dict[str, Any]:
    schema = UpdateOutcome.model_json_schema(by_alias=True)
    schema["$schema"] = DRAFT
    schema["description"] = (
        f"detail of the {DETAIL_TYPE_SUCCEEDED} and {DETAIL_TYPE_FAILED} events (source {SOURCE}). "
        "Attribute names only, never attribute values."
    )
    return add_outcome_rules(schema)


def import_outcome_schema() -> dict[str, Any]:
    """The import reaction's events: ImportJob.Reacted (a summary) and ImportJob.ReactionFailed."""
    summary = ImportSummary.model_json_schema(by_alias=True)
    reaction_failed = {
        "title": "ImportReactionFailed",
        "type": "object",
        "description": f"detail of the {IMPORT_FAILED_DETAIL_TYPE} event: the reaction gave up",
        "required": ["jobId", "datastoreId", "errorCode", "errorMessage"],
        "additionalProperties": False,
        "properties": {
            "jobId": {"type": "string"},
            "datastoreId": {"type": "string"},
            "errorCode": {
                "enum": [
                    str(code)
                    for code in (
                        FailureCode.IMPORT_EVENT_INVALID,
                        FailureCode.IMPORT_OUTPUT_UNREADABLE,
                        FailureCode.EVENT_OUT_OF_SCOPE,
                    )
                ]
            },
            "errorMessage": {"type": "string"},
        },
    }
    definitions = summary.pop("$defs", {})
    summary["description"] = f"detail of the {IMPORT_SUMMARY_DETAIL_TYPE} event: what the reaction did"
    return {
        "$schema": DRAFT,
        "title": "ImportReactionOutcome",
        "description": f"detail of the {IMPORT_SUMMARY_DETAIL_TYPE} and {IMPORT_FAILED_DETAIL_TYPE} events "
        f"(source {SOURCE}): counts, ids and file names, never attribute values.",
        "anyOf": [{"$ref": "#/$defs/ImportSummary"}, {"$ref": "#/$defs/ImportReactionFailed"}],
        "$defs": {**definitions, "ImportSummary": summary, "ImportReactionFailed": reaction_failed},
    }


def selector_request_schema() -> dict[str, Any]:
    """A parent request: a selector (patient or study) or a patient merge."""
    _, definitions = models_json_schema(
        [(SelectorRequest, "validation"), (MergeRequest, "validation")], by_alias=True
    )
    return {
        "$schema": DRAFT,
        "title": "ImageSetMetadataUpdateSelectorRequest",
        "description": (
            "An SQS message body or EventBridge detail asking the updater to change every image set "
            "of a patient or a study in one data store (one child request per image set), or to "
            "merge two patients. HL7 v2 ADT messages (contentType application/hl7-v2) become these."
        ),
        "anyOf": [{"$ref": "#/$defs/SelectorRequest"}, {"$ref": "#/$defs/MergeRequest"}],
        "$defs": definitions["$defs"],
    }


def batch_outcome_schema() -> dict[str, Any]:
    schema = BatchOutcome.model_json_schema(by_alias=True)
    schema["$schema"] = DRAFT
    schema["description"] = (
        f"detail of the {DETAIL_TYPE_BATCH_SUCCEEDED}, {DETAIL_TYPE_BATCH_PARTIALLY_FAILED} and "
        f"{DETAIL_TYPE_BATCH_FAILED} events (source {SOURCE}): a parent's one aggregate outcome. "
        "Ids, versions, counts and codes only, never attribute values nor the selector's."
    )
    return schema


def audit_record_schema() -> dict[str, Any]:
    schema = AuditRecord.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = DRAFT
    schema["description"] = (
        "One object of the audit trail (records/<yyyy>/<mm>/<dd>/<sha256 of requestId>.json): who asked, "
        "when, what changed with each attribute's value before and after (PHI: only here), and why."
    )
    return schema


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "update-request.schema.json": request_schema,
    "update-outcome.schema.json": outcome_schema,
    "selector-request.schema.json": selector_request_schema,
    "batch-outcome.schema.json": batch_outcome_schema,
    "audit-record.schema.json": audit_record_schema,
    "import-outcome.schema.json": import_outcome_schema,
}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def drifted(directory: Path) -> list[str]:
    """Names of schema files that are missing or differ from what the models generate."""
    stale = []
    for name, build in SCHEMAS.items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != render(build()):
            stale.append(name)
    return stale


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in SCHEMAS.items():
        path = directory / name
        path.write_text(render(build()), encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m updater.schemas", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed schemas drifted")
    parser.add_argument("--directory", type=Path, default=DEFAULT_DIRECTORY)
    args = parser.parse_args(argv)
    if args.check:
        stale = drifted(args.directory)
        for name in stale:
            print(f"{name} is out of date: run python -m updater.schemas", file=sys.stderr)
        return 1 if stale else 0
    for path in write(args.directory):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
