"""Fixtures shared by integration modules that drive the handler directly on their own `stack`."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module")
def runtime(stack: Any) -> Any:
    """What the handler builds at a cold start, from the environment the module's stack exported
    (the stack's start forgot any earlier one)."""
    from updater.handler import runtime as cold_start_runtime  # noqa: PLC0415

    return cold_start_runtime()
