"""The behaviour profile: token-bucket quotas, injected faults, settle-time distribution, latency."""

from __future__ import annotations

import statistics

import pytest

from local.healthimaging import (
    REAL_SERVICE_QUOTAS,
    BehaviourProfile,
    FaultInjection,
    HealthImagingService,
    ManualClock,
    RateLimit,
    SettleTime,
)
from local.healthimaging.behaviour import BehaviourRuntime
from local.healthimaging.errors import InternalServerException, ThrottlingException
from tests.local.healthimaging.core_calls import get_image_set
from tests.local.healthimaging.documents import metadata_document


def test_token_bucket_throttles_above_the_rate_and_recovers_with_time(clock: ManualClock) -> None:
    profile = BehaviourProfile(rate_limits={"GetImageSet": RateLimit(rate_per_second=0.25, burst=1)})
    service = HealthImagingService(profile=profile, clock=clock)
    datastore_id = service.create_datastore("quota")
    image_set_id = service.seed_image_set(datastore_id, metadata_document())

    get_image_set(service, datastore_id, image_set_id)
    with pytest.raises(ThrottlingException):
        get_image_set(service, datastore_id, image_set_id)
    clock.advance(4)
    get_image_set(service, datastore_id, image_set_id)

    assert service.call_log.call_counts() == {"GetImageSet": 3}
    assert service.call_log.call_counts(error_code="ThrottlingException") == {"GetImageSet": 1}


def test_real_quotas_preset_allows_fifteen_updates_a_minute() -> None:
    clock = ManualClock()
    runtime = BehaviourRuntime(BehaviourProfile.with_real_quotas(), clock)
    admitted = 0
    for _ in range(600):
        try:
            runtime.admit("UpdateImageSetMetadata")
            admitted += 1
        except ThrottlingException:
            pass
        clock.advance(0.1)

    assert REAL_SERVICE_QUOTAS["UpdateImageSetMetadata"].rate_per_second == 0.25
    assert admitted in (15, 16)  # one minute at 0.25/s plus the burst of one


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        (FaultInjection(internal_error_probability=1.0), InternalServerException),
        (FaultInjection(throttle_probability=1.0), ThrottlingException),
    ],
)
def test_injected_faults_raise_the_service_errors(
    clock: ManualClock, faults: FaultInjection, error: type[Exception]
) -> None:
    service = HealthImagingService(profile=BehaviourProfile(faults=faults), clock=clock)

    with pytest.raises(error):
        service.call("ListDatastores", {})


def test_faults_can_be_limited_to_some_operations(clock: ManualClock) -> None:
    faults = FaultInjection(internal_error_probability=1.0, operations=["UpdateImageSetMetadata"])
    service = HealthImagingService(profile=BehaviourProfile(faults=faults), clock=clock)

    assert service.call("ListDatastores", {})["datastoreSummaries"] == []


def test_injected_latency_passes_on_the_clock(clock: ManualClock) -> None:
    faults = FaultInjection(extra_latency_probability=1.0, extra_latency_seconds=2.5)
    service = HealthImagingService(profile=BehaviourProfile(faults=faults), clock=clock)
    start = clock.now()

    service.call("ListDatastores", {})

    assert clock.now() - start == pytest.approx(2.5)


def test_settle_times_follow_the_configured_median_and_p99(clock: ManualClock) -> None:
    runtime = BehaviourRuntime(
        BehaviourProfile(settle=SettleTime(median_seconds=0.3, p99_seconds=1.0), seed=3), clock
    )
    samples = sorted(runtime.settle_seconds() for _ in range(4000))

    assert statistics.median(samples) == pytest.approx(0.3, rel=0.1)
    assert samples[int(0.99 * len(samples))] == pytest.approx(1.0, rel=0.2)


def test_the_same_seed_gives_the_same_settle_times(clock: ManualClock) -> None:
    def draws() -> list[float]:
        runtime = BehaviourRuntime(BehaviourProfile(seed=11), clock)
        return [runtime.settle_seconds() for _ in range(5)]

    assert draws() == draws()


def test_p99_below_median_is_rejected() -> None:
    with pytest.raises(ValueError, match="p99"):
        SettleTime(median_seconds=1.0, p99_seconds=0.5)
