"""Fixtures for the emulator's own tests: a core on a manual clock, and one shared HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.healthimaging import (
    BehaviourProfile,
    EmulatorServer,
    HealthImagingService,
    ManualClock,
    SettleTime,
    medical_imaging_client,
)
from tests.local.healthimaging.documents import metadata_document

# Settling takes exactly about one second on the manual clock: tests advance past it at will.
ONE_SECOND_SETTLE = SettleTime(median_seconds=1.0, p99_seconds=1.0000001)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def service(clock: ManualClock) -> HealthImagingService:
    return HealthImagingService(profile=BehaviourProfile(settle=ONE_SECOND_SETTLE, seed=7), clock=clock)


@pytest.fixture
def datastore_id(service: HealthImagingService) -> str:
    return service.create_datastore("core-tests")


@pytest.fixture
def image_set_id(service: HealthImagingService, datastore_id: str) -> str:
    return service.seed_image_set(datastore_id, metadata_document())


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(profile=BehaviourProfile.fast()) as server:
        yield server


@pytest.fixture
def client(emulator: EmulatorServer) -> Any:
    return medical_imaging_client(emulator.endpoint_url)
