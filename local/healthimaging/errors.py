"""The errors the emulator answers with, as the service model declares them.

Exception tree (code, HTTP status from botocore's model)::

    ServiceError
    ├── ValidationException            400  malformed request, DICOM constraint violated
    ├── AccessDeniedException          403
    ├── ResourceNotFoundException      404  unknown data store, image set, version or job
    ├── UnknownOperationException      404  no operation matches method + path (emulator front door)
    ├── ConflictException              409  stale latestVersion, image set LOCKED, data store not empty
    ├── ServiceQuotaExceededException  402  update payload over the quota, too many concurrent updates
    ├── ThrottlingException            429  token bucket empty or injected throttle
    └── InternalServerException        500  injected fault
"""

from __future__ import annotations


class ServiceError(Exception):
    code = "InternalServerException"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationException(ServiceError):
    code = "ValidationException"
    status = 400


class AccessDeniedException(ServiceError):
    code = "AccessDeniedException"
    status = 403


class ResourceNotFoundException(ServiceError):
    code = "ResourceNotFoundException"
    status = 404


class UnknownOperationException(ServiceError):
    code = "UnknownOperationException"
    status = 404


class ConflictException(ServiceError):
    code = "ConflictException"
    status = 409


class ServiceQuotaExceededException(ServiceError):
    code = "ServiceQuotaExceededException"
    status = 402


class ThrottlingException(ServiceError):
    code = "ThrottlingException"
    status = 429


class InternalServerException(ServiceError):
    code = "InternalServerException"
    status = 500
