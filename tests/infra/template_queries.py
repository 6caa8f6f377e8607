"""Small read-only queries over synthesized CloudFormation templates (plain dicts)."""

from __future__ import annotations

from typing import Any


def policy_documents(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM-like policy document in a template (identity policies, queue/topic/key policies)."""
    documents = []
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("PolicyDocument", "KeyPolicy"):
            if key in properties:
                documents.append((logical_id, properties[key]))
        for inline in properties.get("Policies", []):
            documents.append((logical_id, inline["PolicyDocument"]))
    return documents


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return as_list(document["Statement"])
