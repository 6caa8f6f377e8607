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

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property
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


class AwsClients:
    """The boto3 clients a function uses, each created when first asked for: a function builds only
    its own (apply never reads S3; intake and finalize never update an image set), and every client
    costs its cold start a service model. Endpoints come from the SDK's own AWS_ENDPOINT_URL_<SERVICE>
    variables when set (local runs)."""

    def __init__(self, session: boto3.session.Session | None = None) -> None:
        self._session = session or boto3.session.Session()
        self._at_first_use: dict[str, Any] = {}

    @classmethod
    def from_environment(cls, session: boto3.session.Session | None = None) -> AwsClients:
        return cls(session)

    def _client(self, service: str, config: Config = CLIENT_CONFIG) -> Any:
        return guarded(self._session.client(service, config=config))  # type: ignore[call-overload]

    def at_first_use(self, service: str) -> Any:
        """The service's client (boto3's name), built when first called: for a client that a
        function's usual invocation never needs. One per service, however often asked for."""
        lazy = self._at_first_use.get(service)
        if lazy is None:
            lazy = self._at_first_use[service] = LazyClient(lambda: self._client(service))
        return lazy

    @cached_property
    def medical_imaging(self) -> Any:
        return self._client("medical-imaging")

    @cached_property
    def medical_imaging_updates(self) -> Any:
        return self._client("medical-imaging", UPDATE_CLIENT_CONFIG)

    @cached_property
    def dynamodb(self) -> Any:
        return self._client("dynamodb")

    @cached_property
    def events(self) -> Any:
        return self._client("events")

    @cached_property
    def sqs(self) -> Any:
        return self._client("sqs")

    @cached_property
    def s3(self) -> Any:  # import reactions and audit records: not every invocation writes one
        return self.at_first_use("s3")

    @cached_property
    def iam(self) -> Any:  # only for a sender intake does not know yet
        return self.at_first_use("iam")


class LazyClient:
    """A client built at its first use, for clients many invocations never need (intake asks IAM
    only about a sender it does not know yet; S3 only for import events and audit records): building
    one costs its service model at the cold start. The clients every invocation uses are built at
    once, so the cold start shows what the first request would pay anyway."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._client: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._build()
                client = self._client
        return getattr(client, name)
