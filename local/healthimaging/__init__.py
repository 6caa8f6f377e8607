"""A local emulator of AWS HealthImaging (`medical-imaging`) that real AWS clients talk to."""

from local.healthimaging.client import medical_imaging_client
from local.healthimaging.clock import ManualClock, RealClock
from local.healthimaging.profile import (
    REAL_SERVICE_QUOTAS,
    BehaviourProfile,
    FaultInjection,
    RateLimit,
    SettleTime,
)
from local.healthimaging.server import EmulatorServer
from local.healthimaging.service import HealthImagingService

__all__ = [
    "REAL_SERVICE_QUOTAS",
    "BehaviourProfile",
    "EmulatorServer",
    "FaultInjection",
    "HealthImagingService",
    "ManualClock",
    "RateLimit",
    "RealClock",
    "SettleTime",
    "medical_imaging_client",
]
