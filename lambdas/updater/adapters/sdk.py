"""boto3 clients as the updater builds them: retry budgets, timeouts, and the call deadline.

Retries: standard mode, 3 attempts (at most ~3 s of back-off) absorb short throttling bursts; what
remains is a wait on the lane, never a failure. Not adaptive mode: its client-side limiter blocks
calls for seconds after throttling, whatever the invocation's time left. UpdateImageSetMetadata gets
no SDK retries at all: an unpaced retry after a throttle lands on the next request's pacing slot,
and a retry after a lost answer meets ConflictException for our own change (the lane's open call
record says what happened instead).

The call deadline: no AWS call and no SDK retry of one starts after an invocation's last safe
moment. One step can make several calls, each retried with back-off under throttling or 5xx; a
botocore `before-send` hook refuses any attempt past the deadline, so the step ends as a wait
(the ledger saying how far it got) instead of Lambda stopping the invocation mid-batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from updater.domain.errors import RetryableServiceError

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=20)
UPDATE_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5, read_timeout=20
)

# (deadline in epoch seconds, the clock it is measured on)
_deadline: ContextVar[tuple[float, Callable[[], float]] | None] = ContextVar("call_deadline", default=None)


class OutOfTime(RetryableServiceError):
    """An AWS call would have started after the invocation's call deadline."""

    def __init__(self) -> None:
        super().__init__("OutOfTime", "call deadline passed")


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
        raise OutOfTime


def guarded(client: Any) -> Any:
    client.meta.events.register("before-send", refuse_late_calls)
    return client


@dataclass(frozen=True)
class AwsClients:
    medical_imaging: Any
    medical_imaging_updates: Any
    dynamodb: Any
    events: Any
    sqs: Any
    s3: Any

    @classmethod
    def from_environment(cls, session: boto3.session.Session | None = None) -> AwsClients:
        """Endpoints come from the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables when set (local runs)."""
        session = session or boto3.session.Session()
        return cls(
            medical_imaging=guarded(session.client("medical-imaging", config=CLIENT_CONFIG)),
            medical_imaging_updates=guarded(session.client("medical-imaging", config=UPDATE_CLIENT_CONFIG)),
            dynamodb=guarded(session.client("dynamodb", config=CLIENT_CONFIG)),
            events=guarded(session.client("events", config=CLIENT_CONFIG)),
            sqs=guarded(session.client("sqs", config=CLIENT_CONFIG)),
            s3=guarded(session.client("s3", config=CLIENT_CONFIG)),
        )
