"""The shape of a request's preconditions (``expect``, ``matchedBy``): level -> keyword -> value.

Only the shape lives here (the request contract imports it); what they mean and how they are
checked is ``domain.preconditions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from updater.domain.errors import FailureCode

LEVELS = ("Patient", "Study")
MAX_EXPECTED = 16  # a precondition names a few identity attributes, not a document
MAX_VALUE_CHARS = 1024


def _parse(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not value:
        raise PydanticCustomError(FailureCode.SCHEMA_VIOLATION.value, "must be a non-empty object of levels")
    count = 0
    for level, attributes in value.items():
        if level not in LEVELS:
            raise PydanticCustomError(FailureCode.UNKNOWN_DOCUMENT_KEY.value, "levels are Patient and Study")
        if not isinstance(attributes, Mapping) or not attributes:
            raise PydanticCustomError(
                FailureCode.SCHEMA_VIOLATION.value, "each level maps keywords to expected values"
            )
        for expected in attributes.values():
            if expected is not None and not isinstance(expected, str | int | float):
                raise PydanticCustomError(
                    FailureCode.SCHEMA_VIOLATION.value, "expected values are strings, numbers or null"
                )
            if isinstance(expected, str) and len(expected) > MAX_VALUE_CHARS:
                raise PydanticCustomError(FailureCode.SCHEMA_VIOLATION.value, "an expected value is too long")
            count += 1
    if count > MAX_EXPECTED:
        raise PydanticCustomError(
            FailureCode.SCHEMA_VIOLATION.value, f"at most {MAX_EXPECTED} expected attributes"
        )
    return {level: dict(attributes) for level, attributes in value.items()}


_SCHEMA = {
    "anyOf": [
        {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                level: {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": {"type": ["string", "number", "null"]},
                }
                for level in LEVELS
            },
        },
        {"type": "null"},
    ]
}
Expectations = Annotated[dict[str, dict[str, Any]] | None, BeforeValidator(_parse), WithJsonSchema(_SCHEMA)]
