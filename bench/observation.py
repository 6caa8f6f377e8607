"""What the emulator saw, per call: which versions were created and when each was first seen settled.

The emulator's call log records operation, time and error code only; the benchmark also needs the
image set and version of each GetImageSet answer to measure settle-to-notice lag and polls per
update, so it wraps the service's `call` entry point (the HTTP front calls it for every request).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
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
