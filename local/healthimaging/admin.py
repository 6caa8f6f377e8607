"""The small admin API under `/_emulator/` that lets tests and benchmarks steer the emulator:

- `GET /_emulator/profile`, `POST /_emulator/profile` (deep-merged into the current profile),
  `PUT /_emulator/profile` (replaced);
- `GET /_emulator/calls` (records and per-operation counts), `DELETE /_emulator/calls`;
- `POST /_emulator/clock/advance` with `{"seconds": n}` (ManualClock only);
- `GET /_emulator/events` (every HealthImaging event emitted so far).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from pydantic import ValidationError

from local.healthimaging.clock import ManualClock
from local.healthimaging.http_front import HttpResponse
from local.healthimaging.profile import BehaviourProfile
from local.healthimaging.service import HealthImagingService

ADMIN_PREFIX = "/_emulator/"


def _json(status: int, document: Any) -> HttpResponse:
    return HttpResponse(status, json.dumps(document).encode(), {"Content-Type": "application/json"})


def _deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "rate_limits":
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class AdminApi:
    def __init__(self, service: HealthImagingService) -> None:
        self._service = service

    def handle(self, method: str, path: str, body: bytes) -> HttpResponse:
        try:
            document = json.loads(body) if body else {}
        except json.JSONDecodeError:
            return _json(400, {"message": "body is not JSON"})
        route = (method, path.removeprefix(ADMIN_PREFIX).rstrip("/"))
        try:
            return self._dispatch(route, document)
        except (ValidationError, ValueError, TypeError) as error:
            return _json(400, {"message": str(error)})

    def _dispatch(self, route: tuple[str, str], document: Any) -> HttpResponse:
        service = self._service
        if route == ("GET", "profile"):
            return _json(200, service.profile.model_dump())
        if route in (("POST", "profile"), ("PUT", "profile")):
            base = service.profile.model_dump() if route[0] == "POST" else {}
            service.set_profile(BehaviourProfile.model_validate(_deep_merge(base, document)))
            return _json(200, service.profile.model_dump())
        if route == ("GET", "calls"):
            return _json(200, {"calls": service.call_log.as_json(), "counts": service.call_log.call_counts()})
        if route == ("DELETE", "calls"):
            service.call_log.clear()
            return _json(200, {})
        if route == ("POST", "clock/advance"):
            return self._advance_clock(float(document.get("seconds", 0)))
        if route == ("GET", "events"):
            return _json(200, {"events": [asdict(e) for e in service.published_events()]})
        return _json(404, {"message": f"No admin route {route[0]} {ADMIN_PREFIX}{route[1]}"})

    def _advance_clock(self, seconds: float) -> HttpResponse:
        clock = self._service.clock
        if not isinstance(clock, ManualClock):
            return _json(409, {"message": "the emulator runs on a real clock"})
        now = clock.advance(seconds)
        self._service.settle_due()
        return _json(200, {"now": now})
