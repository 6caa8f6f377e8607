"""The behaviour profile: how fast updates settle, how the service throttles, which faults to inject.

Defaults are a well-behaved service with unlimited rates. `REAL_SERVICE_QUOTAS` carries the published
per-account TPS quotas (HealthImaging developer guide, "Throttling limits"), for benchmarks that must
feel the 0.25 TPS UpdateImageSetMetadata ceiling.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# z-score of the 99th percentile of a standard normal distribution.
_Z_P99 = 2.3263478740408408


class SettleTime(BaseModel):
    """Log-normal time from an accepted write to its final state (not documented by AWS: a guess)."""

    model_config = ConfigDict(extra="forbid")
    median_seconds: float = Field(default=0.3, gt=0)
    p99_seconds: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _p99_not_below_median(self) -> SettleTime:
        if self.p99_seconds < self.median_seconds:
            raise ValueError("p99_seconds must be >= median_seconds")
        return self

    @property
    def mu(self) -> float:
        return math.log(self.median_seconds)

    @property
    def sigma(self) -> float:
        return (math.log(self.p99_seconds) - math.log(self.median_seconds)) / _Z_P99


class RateLimit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate_per_second: float = Field(gt=0)
    burst: float = Field(ge=1)


class FaultInjection(BaseModel):
    """Probabilities per call; `operations` limits the 5xx/throttle/latency faults to those operations."""

    model_config = ConfigDict(extra="forbid")
    internal_error_probability: float = Field(default=0.0, ge=0, le=1)
    throttle_probability: float = Field(default=0.0, ge=0, le=1)
    update_failure_probability: float = Field(default=0.0, ge=0, le=1)
    extra_latency_probability: float = Field(default=0.0, ge=0, le=1)
    extra_latency_seconds: float = Field(default=0.0, ge=0)
    operations: list[str] | None = None

    def applies_to(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations


REAL_SERVICE_QUOTAS: dict[str, RateLimit] = {
    "UpdateImageSetMetadata": RateLimit(rate_per_second=0.25, burst=1),
    "CopyImageSet": RateLimit(rate_per_second=0.25, burst=1),
    "DeleteImageSet": RateLimit(rate_per_second=0.25, burst=1),
    "GetImageSet": RateLimit(rate_per_second=25, burst=50),
    "GetImageSetMetadata": RateLimit(rate_per_second=50, burst=100),
    "ListImageSetVersions": RateLimit(rate_per_second=25, burst=50),
    "SearchImageSets": RateLimit(rate_per_second=25, burst=50),
    "GetDICOMImportJob": RateLimit(rate_per_second=25, burst=50),
    "StartDICOMImportJob": RateLimit(rate_per_second=1, burst=2),
    "GetImageFrame": RateLimit(rate_per_second=1000, burst=2000),
}


class BehaviourProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    settle: SettleTime = Field(default_factory=SettleTime)
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)
    faults: FaultInjection = Field(default_factory=FaultInjection)
    # Service quota L-A880A4C2 (10 KB, adjustable); the model's own blob maximum is 30000 bytes.
    update_payload_limit_bytes: int = Field(default=10 * 1024, ge=1)
    # Service quota L-8588E9BF.
    max_concurrent_updates_per_datastore: int = Field(default=100, ge=1)
    # What UpdateImageSetMetadata allows on a *primary* image set. The developer guide disagrees with
    # itself and nobody here can check a real account (`python -m local.conformance` tells):
    # - "legacy": the CLI examples and older editions: Patient- and Series-level updates and forced
    #   Study/Series/SOP Instance UID changes succeed on any image set;
    # - "strict": the newest "Updating image set metadata": Patient- and Series-level elements cannot
    #   be updated on primary image sets, and force does not change those UIDs there.
    primary_image_set_rules: Literal["legacy", "strict"] = "legacy"
    # How long a data store stays CREATING / DELETING (0: until the next call or settle tick).
    datastore_transition_seconds: float = Field(default=0.0, ge=0)
    # The image set events' id key: the developer guide's sample spells it `imagesetId`, the
    # EventBridge schema registry and AWS's samples `imageSetId` (what consumers should accept: both).
    image_set_event_id_key: Literal["imageSetId", "imagesetId"] = "imageSetId"
    seed: int | None = None

    @classmethod
    def fast(cls, seed: int | None = 0) -> BehaviourProfile:
        """Settles in tens of milliseconds: for test suites on a real clock."""
        return cls(settle=SettleTime(median_seconds=0.02, p99_seconds=0.06), seed=seed)

    @classmethod
    def with_real_quotas(cls, seed: int | None = None) -> BehaviourProfile:
        return cls(rate_limits=dict(REAL_SERVICE_QUOTAS), seed=seed)
