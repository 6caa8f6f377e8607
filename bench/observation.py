"""What the emulator saw, per call: which versions were created and when each was first seen settled.

The emulator's call log records operation, time and error code only; the benchmark also needs the
image set and version of each GetImageSet answer to measure settle-to-notice lag and polls per
update, so it wraps the service's `call` entry point (the HTTP front calls it for every request).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from local.healthimaging.service import HealthImagingService

VersionKey = tuple[str, str]  # (image set id, version id)


@dataclass
class VersionWatch:
    accepted_at: float
    polls: int = 0  # GetImageSet calls naming this version (or finding it latest) while it was LOCKED
    noticed_at: float | None = None  # first GetImageSet answer showing it settled


@dataclass
class EmulatorObserver:
    versions: dict[VersionKey, VersionWatch] = field(default_factory=dict)
    read_answers: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, service: HealthImagingService) -> None:
        original: Callable[[str, dict[str, Any]], dict[str, Any]] = service.call
        clock = service.clock

        def observed(operation: str, params: dict[str, Any]) -> dict[str, Any]:
            result = original(operation, params)
            at = clock.now()
            if operation == "UpdateImageSetMetadata":
                self._accepted(params["imageSetId"], str(result["latestVersionId"]), at)
            elif operation == "GetImageSet":
                self._read(params["imageSetId"], str(result["versionId"]), result["imageSetState"], at)
            return result

        service.call = observed  # type: ignore[method-assign]

    def _accepted(self, image_set_id: str, version_id: str, at: float) -> None:
        with self._lock:
            self.versions[(image_set_id, version_id)] = VersionWatch(accepted_at=at)

    def _read(self, image_set_id: str, version_id: str, state: str, at: float) -> None:
        with self._lock:
            watch = self.versions.get((image_set_id, version_id))
            if watch is None or watch.noticed_at is not None:
                self.read_answers["other"] += 1
                return
            watch.polls += 1
            self.read_answers["watch"] += 1
            if state != "LOCKED":
                watch.noticed_at = at


# Powertools' log timestamp, e.g. "2026-12-02 01:41:57,688+0000" (milliseconds, UTC offset).
_LOG_TIMESTAMP = "%Y-%m-%d %H:%M:%S,%f%z"


def logged_notices(logs: str) -> dict[VersionKey, float]:
    """(image set, version) -> when intake first logged that it had recorded HealthImaging's settle
    event for it (its "record admitted" line with admission "notice", written once the lane was told).

    The log line is the updater's own account of when it learned of the settle; its timestamp has
    millisecond resolution (truncated, so at most 1 ms early)."""
    found: dict[VersionKey, float] = {}
    for line in logs.splitlines():
        if '"notice"' not in line or not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
            if record.get("admission") != "notice":
                continue
            key = (str(record["imageSetId"]), str(record["versionId"]))
            at = datetime.strptime(record["timestamp"], _LOG_TIMESTAMP).timestamp()
        except (ValueError, KeyError, TypeError):
            continue
        found[key] = min(at, found.get(key, at))
    return found
