"""Gives each local invocation of the updater its own Powertools BatchProcessor.

In AWS each execution environment runs one invocation at a time, so the handler's module-level
`BatchProcessor` (which keeps the current batch's records and failures as instance state) is never
shared. The local event source runs concurrent invocations as threads of one interpreter: with 16
workers, batches clobbered each other's state and records were reported failed that had succeeded,
then redelivered after the visibility timeout. Every local invocation runs on its own thread, so a
thread-local processor restores what Lambda guarantees without touching the handler.
"""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType


class PerInvocationBatchProcessor(BatchProcessor):
    def __init__(self) -> None:  # deliberately no super().__init__: all state lives per thread
        self._local = threading.local()

    def _own(self) -> BatchProcessor:
        processor = getattr(self._local, "processor", None)
        if processor is None:
            processor = self._local.processor = BatchProcessor(event_type=EventType.SQS)
        return processor

    def __call__(self, records: list[dict[str, Any]], handler: Any, lambda_context: Any = None) -> Any:
        return self._own()(records, handler, lambda_context)

    def process(self) -> Any:
        return self._own().process()

    def response(self) -> Any:
        return self._own().response()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._own(), name)


def isolate_updater_invocations() -> None:
    import updater.handler  # noqa: PLC0415  (imported where the local stack put lambdas/ on the path)

    if not isinstance(updater.handler._processor, PerInvocationBatchProcessor):
        updater.handler._processor = PerInvocationBatchProcessor()
