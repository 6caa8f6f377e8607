"""Faults a plan injects into single local invocations (the chaos soak's, and tests').

The event source asks the plan before each invocation, with what Lambda knows by then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PlannedInvocation:
    """What a fault plan sees before an invocation starts."""

    request_id: str
    queue_arn: str
    message_ids: tuple[str, ...]
    receive_counts: tuple[int, ...]


@dataclass(frozen=True)
class InvocationFault:
    """A fault to inject into one invocation (for the chaos soak).

    `cut_off_after_s`: kill the execution environment this many seconds in, as if it crashed.
    `lose_response`: the handler finishes but its answer is lost, so no message is deleted and the
    whole batch is delivered again (at-least-once delivery made visible).
    """

    cut_off_after_s: float | None = None
    lose_response: bool = False


FaultPlan = Callable[[PlannedInvocation], InvocationFault | None]
