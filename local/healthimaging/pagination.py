"""Opaque offset tokens for the paginated List/Search operations."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import TypeVar

from local.healthimaging.errors import ValidationException

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 50


def page(items: Sequence[T], max_results: int | None, next_token: str | None) -> tuple[list[T], str | None]:
    start = _decode(next_token) if next_token else 0
    size = max_results or DEFAULT_PAGE_SIZE
    end = start + size
    token = base64.urlsafe_b64encode(f"offset:{end}".encode()).decode() if end < len(items) else None
    return list(items[start:end]), token


def _decode(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        prefix, offset = text.split(":", 1)
        if prefix != "offset" or int(offset) < 0:
            raise ValueError(text)
        return int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise ValidationException("Invalid nextToken") from error
