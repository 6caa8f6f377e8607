"""No AWS call made for a request, and no SDK retry of one, starts after the request's last safe moment.

The service checks the time before each step, but one step can make several calls, and under
throttling or 5xx each may be retried with back-off for seconds. A record begun with the time
reserve intact could then still overrun the Lambda timeout, and the whole batch would come back:
a heavy batch again and again, until SQS moves all of it to the DLQ, unexplained. A botocore
`before-send` hook refuses any attempt past the deadline set around each request, so the request is
handed back ("time") instead, with its ledger entry saying how far it got.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# (deadline in epoch seconds, the clock it is measured on); per thread, as the local stack runs
# several invocations in one process.
_deadline: ContextVar[tuple[float, Callable[[], float]] | None] = ContextVar("call_deadline", default=None)


class OutOfTime(Exception):
    """A HealthImaging call would have started after the request's call deadline."""


@contextmanager
def calls_until(deadline_s: float, now: Callable[[], float]) -> Iterator[None]:
    token = _deadline.set((deadline_s, now))
    try:
        yield
    finally:
        _deadline.reset(token)


def refuse_late_calls(**_kwargs: Any) -> None:
    """botocore `before-send` handler: raising here ends the call without a retry."""
    current = _deadline.get()
    if current is not None and current[1]() >= current[0]:
        raise OutOfTime("call deadline passed")


def guard(client: Any) -> Any:
    """Registers the hook on one client (every operation, every attempt) and returns the client."""
    client.meta.events.register("before-send", refuse_late_calls)
    return client
