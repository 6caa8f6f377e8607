"""restJson1 over HTTP, driven by botocore's own model of `medical-imaging`.

Routes are the model's method + requestUri templates; query-string and header members are read
from their `location`/`locationName`; blobs arrive base64-encoded; input is checked with
botocore's ParamValidator plus the constraints the client leaves to the server. Errors carry
`x-amzn-ErrorType` and a `{"__type", "message"}` body with the model's status codes.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator

from local.healthimaging.errors import ServiceError, UnknownOperationException, ValidationException
from local.healthimaging.service import HealthImagingService
from local.healthimaging.shape_constraints import constraint_violations

SERVICE_NAME = "medical-imaging"


@dataclass
class HttpResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def load_service_model() -> ServiceModel:
    model: ServiceModel = botocore.session.get_session().get_service_model(SERVICE_NAME)
    return model


@dataclass(frozen=True)
class Route:
    method: str
    path: re.Pattern[str]
    operation: OperationModel


def _path_regex(request_uri: str) -> re.Pattern[str]:
    path = request_uri.split("?", 1)[0]
    parts = re.split(r"(\{[^}]+\})", path)
    regex = "".join(
        (f"(?P<{p[1:-2]}>.+)" if p.endswith("+}") else f"(?P<{p[1:-1]}>[^/]+)")
        if p.startswith("{")
        else re.escape(p)
        for p in parts
    )
    return re.compile(regex)


class RestJsonFront:
    def __init__(self, service: HealthImagingService, model: ServiceModel | None = None) -> None:
        self._service = service
        self._model = model or load_service_model()
        self._routes = [
            Route(op.http["method"], _path_regex(op.http["requestUri"]), op)
            for op in (self._model.operation_model(name) for name in self._model.operation_names)
        ]

    def handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> HttpResponse:
        try:
            operation, uri_params = self._route(method, path)
            params = _parse_request(
                operation, uri_params, parse_qs(query, keep_blank_values=True), headers, body
            )
            _validate(operation, params)
            result = self._service.call(operation.name, params)
            return _serialize(operation, result)
        except ServiceError as error:
            return error_response(error)

    def _route(self, method: str, path: str) -> tuple[OperationModel, dict[str, str]]:
        for route in self._routes:
            match = route.path.fullmatch(path)
            if match and route.method == method:
                return route.operation, {k: unquote(v) for k, v in match.groupdict().items()}
        raise UnknownOperationException(f"No operation matches {method} {path}")


def error_response(error: ServiceError) -> HttpResponse:
    body = json.dumps({"__type": error.code, "message": error.message}).encode()
    return HttpResponse(
        error.status, body, {"x-amzn-ErrorType": error.code, "Content-Type": "application/json"}
    )


def _parse_request(
    operation: OperationModel,
    uri_params: dict[str, str],
    query: dict[str, list[str]],
    headers: dict[str, str],
    body: bytes,
) -> dict[str, Any]:
    shape = operation.input_shape
    params: dict[str, Any] = {}
    if shape is None:
        return params
    lower_headers = {k.lower(): v for k, v in headers.items()}
    payload = shape.serialization.get("payload")
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "uri" and wire_name in uri_params:
            params[name] = uri_params[wire_name]
        elif location == "querystring" and wire_name in query and isinstance(member, ListShape):
            # UntagResource's tagKeys: `?tagKeys=a&tagKeys=b`.
            params[name] = [_scalar_from_text(v, member.member, wire_name) for v in query[wire_name]]
        elif location == "querystring" and wire_name in query:
            params[name] = _scalar_from_text(query[wire_name][0], member, wire_name)
        elif location == "header" and wire_name.lower() in lower_headers:
            params[name] = _scalar_from_text(lower_headers[wire_name.lower()], member, wire_name)
    if payload is not None:
        if body:
            params[payload] = _decode_json(_parse_json(body), shape.members[payload], payload)
    elif body:
        document = _parse_json(body)
        if not isinstance(document, dict):
            raise ValidationException("Request body must be a JSON object")
        for name, member in shape.members.items():
            wire_name = member.serialization.get("name", name)
            if "location" not in member.serialization and wire_name in document:
                params[name] = _decode_json(document[wire_name], member, name)
    return params


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValidationException("Request body is not valid JSON") from error


def _scalar_from_text(text: str, shape: Shape, name: str) -> Any:
    if shape.type_name == "boolean":
        if text not in ("true", "false"):
            raise ValidationException(f"{name} must be true or false")
        return text == "true"
    if shape.type_name in ("integer", "long"):
        try:
            return int(text)
        except ValueError as error:
            raise ValidationException(f"{name} must be an integer") from error
    return text


def _decode_json(value: Any, shape: Shape, name: str) -> Any:
    """JSON value -> botocore input value: base64 blobs to bytes, epoch timestamps to datetimes."""
    kind = shape.type_name
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = shape.members
        return {
            k: _decode_json(v, members[k], f"{name}.{k}") if k in members else v for k, v in value.items()
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_decode_json(item, shape.member, name) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: _decode_json(v, shape.value, name) for k, v in value.items()}
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as error:
            raise ValidationException(f"{name} is not valid base64") from error
    if kind == "timestamp" and isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    return value


def _validate(operation: OperationModel, params: dict[str, Any]) -> None:
    shape = operation.input_shape
    if shape is None:
        return
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise ValidationException(report.generate_report())
    violations = constraint_violations(params, shape, operation.name)
    if violations:
        raise ValidationException("; ".join(violations))


def _serialize(operation: OperationModel, result: dict[str, Any]) -> HttpResponse:
    shape = operation.output_shape
    status = int(operation.http.get("responseCode", 200))
    if shape is None:
        return HttpResponse(status, b"{}", {"Content-Type": "application/json"})
    headers: dict[str, str] = {}
    members: dict[str, Any] = {}
    for name, member in shape.members.items():
        if result.get(name) is None:
            continue
        if member.serialization.get("location") == "header":
            headers[member.serialization.get("name", name)] = str(result[name])
        else:
            members[member.serialization.get("name", name)] = result[name]
    payload = shape.serialization.get("payload")
    if payload is not None and shape.members[payload].type_name == "blob":
        return HttpResponse(status, bytes(members.get(payload, b"")), headers)
    document = members.get(payload, {}) if payload is not None else members
    headers.setdefault("Content-Type", "application/json")
    return HttpResponse(status, json.dumps(document).encode(), headers)
