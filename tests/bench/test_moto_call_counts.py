"""bench.moto_call_counts: which operation a moto request is, and the counts summed over processes."""

from __future__ import annotations

import io
import json
from pathlib import Path

from bench.moto_call_counts import CallCounts, operation, read_counts


def _environ(
    target: str | None, body: dict[str, str] | None = None, method: str = "POST"
) -> dict[str, object]:
    raw = json.dumps(body or {}).encode()
    environ: dict[str, object] = {"REQUEST_METHOD": method, "CONTENT_LENGTH": str(len(raw))}
    environ["wsgi.input"] = io.BytesIO(raw)
    if target:
        environ["HTTP_X_AMZ_TARGET"] = target
    return environ


def test_an_update_is_told_apart_by_its_expressions_and_its_body_is_left_readable() -> None:
    body = {"UpdateExpression": "SET tat = tat + :interval", "ConditionExpression": "tat >= :now"}
    environ = _environ("DynamoDB_20120810.UpdateItem", body)
    assert operation(environ) == "DynamoDB UpdateItem [SET tat = tat + :interval] if [tat >= :now]"
    stream = environ["wsgi.input"]
    assert isinstance(stream, io.BytesIO) and json.loads(stream.read()) == body  # moto still reads it


def test_other_operations_by_target_and_s3_by_method() -> None:
    assert operation(_environ("AmazonSQS.SendMessageBatch")) == "AmazonSQS SendMessageBatch"
    assert operation(_environ("AWSEvents.PutEvents")) == "AWSEvents PutEvents"
    assert operation(_environ(None, method="PUT")) == "S3 PUT"


def test_the_processes_counts_are_summed_and_a_window_is_the_difference(tmp_path: Path) -> None:
    prefix = tmp_path / "current-spread-ours"
    (tmp_path / "current-spread-ours-1.json").write_text(json.dumps({"a -> 200": 3, "b -> 400": 1}))
    (tmp_path / "current-spread-ours-2.json").write_text(json.dumps({"a -> 200": 2}))
    (tmp_path / "other-run-3.json").write_text(json.dumps({"a -> 200": 100}))
    assert read_counts(prefix) == {"a -> 200": 5, "b -> 400": 1}
    counts = CallCounts(prefix)
    assert counts.since({"a -> 200": 4}) == {"a -> 200": 1, "b -> 400": 1}
