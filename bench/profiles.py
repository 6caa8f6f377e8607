"""The service profiles the bench runs against (issue 16): HealthImaging's quotas, unscaled.

`current` is the newest edition of the developer guide's "Throttling limits" (UpdateImageSetMetadata
10/s, burst 40); `legacy` is what older editions and older accounts have (0.25/s, burst 1) with the
same read quotas. Only the operations the issue lists are limited: the updaters call nothing else.
The emulator throttles at these rates and the updater's pacer is configured with the update rate, so
both sides agree on the quota; `--quota-scale` multiplies every rate (1 unless asked for).
"""

from __future__ import annotations

from dataclasses import dataclass

from local.healthimaging.profile import RateLimit

UPDATE_OPERATION = "UpdateImageSetMetadata"
READ_QUOTAS: dict[str, RateLimit] = {
    "GetImageSet": RateLimit(rate_per_second=25, burst=50),
    "GetImageSetMetadata": RateLimit(rate_per_second=50, burst=100),
    "SearchImageSets": RateLimit(rate_per_second=25, burst=50),
}


@dataclass(frozen=True)
class ServiceProfile:
    name: str
    update_quota: RateLimit
    description: str

    def rate_limits(self, scale: float = 1.0) -> dict[str, RateLimit]:
        """Every limited operation's rate, times `scale` (bursts stay as published)."""
        limits = {UPDATE_OPERATION: self.update_quota, **READ_QUOTAS}
        return {
            operation: RateLimit(rate_per_second=limit.rate_per_second * scale, burst=limit.burst)
            for operation, limit in limits.items()
        }

    def update_rate(self, scale: float = 1.0) -> float:
        return self.update_quota.rate_per_second * scale

    @property
    def update_burst(self) -> int:
        return int(self.update_quota.burst)


PROFILES: dict[str, ServiceProfile] = {
    "current": ServiceProfile(
        "current",
        RateLimit(rate_per_second=10, burst=40),
        "UpdateImageSetMetadata 10/s burst 40 (newest developer guide)",
    ),
    "legacy": ServiceProfile(
        "legacy",
        RateLimit(rate_per_second=0.25, burst=1),
        "UpdateImageSetMetadata 0.25/s burst 1 (older editions and accounts)",
    ),
}
DEFAULT_PROFILE = "current"
