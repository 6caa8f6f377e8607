"""Check every response a boto3 client receives against botocore's model of the operation.

Raw JSON keys must be members the model knows (botocore silently drops unknown ones, e.g. a
lowercase `imageSetWorkflowStatus` in ListImageSetVersions), and the parsed output must pass
botocore's ParamValidator plus the model's patterns, lengths and enums.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.model import OperationModel, Shape
from botocore.validate import ParamValidator

from local.healthimaging.shape_constraints import constraint_violations


def unknown_keys(value: Any, shape: Shape, where: str) -> list[str]:
    if shape.type_name == "structure" and isinstance(value, dict):
        wire_names = {m.serialization.get("name", n): m for n, m in shape.members.items()}
        problems = [f"{where}.{k} is not in the model" for k in value if k not in wire_names]
        for key, item in value.items():
            if key in wire_names:
                problems += unknown_keys(item, wire_names[key], f"{where}.{key}")
        return problems
    if shape.type_name == "list" and isinstance(value, list):
        return [p for i, item in enumerate(value) for p in unknown_keys(item, shape.member, f"{where}[{i}]")]
    return []


class ContractRecorder:
    def __init__(self, client: Any) -> None:
        self.problems: list[str] = []
        self.checked_operations: set[str] = set()
        client.meta.events.register("before-parse.medical-imaging.*", self._check_raw)
        client.meta.events.register("after-call.medical-imaging.*", self._check_parsed)

    def _check_raw(self, operation_model: OperationModel, response_dict: dict[str, Any], **_: Any) -> None:
        if response_dict["status_code"] >= 300:
            self._check_error(operation_model.name, response_dict)
            return
        shape = operation_model.output_shape
        if shape is None or operation_model.has_streaming_output:
            return
        self.problems += unknown_keys(json.loads(response_dict["body"]), shape, operation_model.name)

    def _check_error(self, operation: str, response_dict: dict[str, Any]) -> None:
        body = json.loads(response_dict["body"])
        code = response_dict["headers"].get("x-amzn-ErrorType")
        if code is None or body.get("__type") != code or not body.get("message"):
            self.problems.append(f"{operation}: error response without x-amzn-ErrorType/__type/message")

    def _check_parsed(self, model: OperationModel, parsed: dict[str, Any], **_: Any) -> None:
        if "Error" in parsed or model.output_shape is None:
            return
        output = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
        report = ParamValidator().validate(output, model.output_shape)
        if report.has_errors():
            self.problems.append(report.generate_report())
        if not model.has_streaming_output:
            self.problems += constraint_violations(output, model.output_shape, model.name)
        self.checked_operations.add(model.name)
