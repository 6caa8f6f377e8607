"""Domain errors raised by the adapters; one table maps AWS error codes onto them.

    ServiceError
     ├── ConflictError          409: image set LOCKED, or `latestVersion` is stale
     ├── RetryableServiceError  throttling after the SDK's own retries, 5xx, timeouts
     │    └── ThrottledError    ThrottlingException
     └── PermanentServiceError  Validation / NotFound / AccessDenied / quota: retrying cannot help

Nothing matches on message text: the code decides.
"""

from __future__ import annotations

from updater.failures import FailureCode


class ServiceError(Exception):
    """An error answered by an AWS service (or the network on the way to it)."""

    def __init__(self, aws_code: str, message: str) -> None:
        super().__init__(f"{aws_code}: {message}")
        self.aws_code = aws_code
        self.message = message


class ConflictError(ServiceError):
    pass


class RetryableServiceError(ServiceError):
    pass


class ThrottledError(RetryableServiceError):
    pass


class PermanentServiceError(ServiceError):
    def __init__(self, aws_code: str, message: str, failure_code: FailureCode) -> None:
        super().__init__(aws_code, message)
        self.failure_code = failure_code


_PERMANENT: dict[str, FailureCode] = {
    "ValidationException": FailureCode.SERVICE_REJECTED,
    "ResourceNotFoundException": FailureCode.IMAGE_SET_NOT_FOUND,
    "AccessDeniedException": FailureCode.ACCESS_DENIED,
    "ServiceQuotaExceededException": FailureCode.SERVICE_QUOTA_EXCEEDED,
}
_THROTTLING = {"ThrottlingException", "TooManyRequestsException", "429"}


def error_from_aws(aws_code: str, message: str) -> ServiceError:
    """Map an AWS error code to the domain error type (unknown codes count as retryable)."""
    if aws_code in _PERMANENT:
        return PermanentServiceError(aws_code, message, _PERMANENT[aws_code])
    if aws_code in ("ConflictException", "409"):
        return ConflictError(aws_code, message)
    if aws_code in _THROTTLING:
        return ThrottledError(aws_code, message)
    # 5xx, timeouts and codes we do not know: SQS retries, the redrive policy bounds it.
    return RetryableServiceError(aws_code, message)
