"""Every operation call the emulator served, for tests, benchmarks and the admin endpoint."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class CallRecord:
    operation: str
    at: float
    error_code: str | None


class CallLog:
    def __init__(self) -> None:
        self._records: list[CallRecord] = []
        self._lock = threading.Lock()

    def record(self, operation: str, at: float, error_code: str | None) -> None:
        with self._lock:
            self._records.append(CallRecord(operation, at, error_code))

    def records(self, operation: str | None = None) -> list[CallRecord]:
        with self._lock:
            return [r for r in self._records if operation is None or r.operation == operation]

    def call_counts(self, error_code: str | None = None) -> dict[str, int]:
        """Calls per operation; with `error_code`, only the calls that failed with it."""
        with self._lock:
            selected = (r for r in self._records if error_code is None or r.error_code == error_code)
            return dict(Counter(r.operation for r in selected))

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.records()]
