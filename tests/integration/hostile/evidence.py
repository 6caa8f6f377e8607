"""What the updater left behind, read back from the real servers: outcome events, failure records,
ledger items, and the functions' log streams (JSON logs and EMF metrics)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from local.chaos_evidence import receive_all
from local.stack import LocalStack


@dataclass(frozen=True)
class FailureRecord:
    body: str
    attributes: dict[str, str]

    @property
    def code(self) -> str:
        return self.attributes.get("failureCode", "")

    def size(self) -> int:
        """Bytes SQS counts: the body, and each attribute's name, data type and value."""
        attributes = sum(
            len(n.encode()) + len(b"String") + len(v.encode()) for n, v in self.attributes.items()
        )
        return len(self.body.encode()) + attributes


@dataclass(frozen=True)
class Evidence:
    events: list[dict[str, Any]]  # EventBridge envelopes of the outcome bus
    failures: list[FailureRecord]
    ledger_items: list[dict[str, Any]]
    logs: str

    def outcomes(self) -> dict[str, list[dict[str, Any]]]:
        """Update outcomes by the key they are published under."""
        found: dict[str, list[dict[str, Any]]] = {}
        for event in self.events:
            if event["detail-type"].startswith("ImageSetMetadataUpdate."):
                found.setdefault(event["detail"]["requestId"], []).append(event["detail"])
        return found

    def details(self, detail_type: str) -> list[dict[str, Any]]:
        return [e["detail"] for e in self.events if e["detail-type"] == detail_type]

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.logs.splitlines():
            try:
                document = json.loads(line)
            except ValueError:
                continue
            if isinstance(document, dict):
                lines.append(document)
        return lines

    def admitted_codes(self) -> Counter[str]:
        return Counter(
            str(line.get("code")) for line in self.log_lines() if line.get("message") == "record admitted"
        )

    def unanswerable(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for line in self.log_lines():
            if line.get("message") == "records that cannot be answered":
                counts[str(line["reason"])] += int(line["count"])
        return counts


def collect(stack: LocalStack) -> Evidence:
    assert stack.topology is not None
    events = [
        json.loads(m["Body"]) for m in receive_all(stack.aws, stack.topology.queue("outcome_capture").url)
    ]
    failures = [
        FailureRecord(
            m["Body"],
            {n: str(v.get("StringValue", "")) for n, v in m.get("MessageAttributes", {}).items()},
        )
        for m in receive_all(stack.aws, stack.topology.queue("failures").url)
    ]
    items: list[dict[str, Any]] = []
    for page in stack.aws.dynamodb.get_paginator("scan").paginate(TableName=stack.topology.table_name):
        items.extend(page["Items"])
    return Evidence(events, failures, items, stack.function_logs())
