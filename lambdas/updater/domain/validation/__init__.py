"""Validation of an UpdateRequest before any AWS call: ``validate_request`` returns every broken rule.

Modules: ``ids`` (envelope), ``document`` (document skeleton), ``keywords`` (data dictionary and private
tags), ``levels`` (Patient/Study/Series/Instance placement), ``force_rules`` (generated and force-only
attributes), ``vr_values`` (value formats), ``attributes`` (the per-attribute rule order).
Validation never logs: failures carry field paths and rules, never attribute values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from updater.domain.errors import FailureCode, ValidationFailure

if TYPE_CHECKING:
    from updater.domain.request import UpdateRequest

API_BLOB_LIMIT_BYTES = 30_000  # DICOMAttribute blob max in the service model
DEFAULT_PAYLOAD_LIMIT_BYTES = 10 * 1024  # service quota L-A880A4C2, adjustable per account

__all__ = ["API_BLOB_LIMIT_BYTES", "DEFAULT_PAYLOAD_LIMIT_BYTES", "validate_request"]


def validate_request(
    request: UpdateRequest,
    *,
    max_payload_bytes: int = DEFAULT_PAYLOAD_LIMIT_BYTES,
    allowed_datastores: frozenset[str] = frozenset(),
) -> tuple[ValidationFailure, ...]:
    """Every rule ``request`` breaks; empty when it may be sent. ``allowed_datastores`` empty allows any."""
    # Imported here, not with the package: the apply and finalize functions use a few of its names
    # and never validate (intake does), so their cold starts skip the rule modules.
    from updater.domain.preconditions import expectation_failures  # noqa: PLC0415
    from updater.domain.validation.attributes import check_attribute  # noqa: PLC0415
    from updater.domain.validation.document import walk_document  # noqa: PLC0415
    from updater.domain.validation.ids import check_identifiers, check_update_kind  # noqa: PLC0415

    failures = check_identifiers(request, allowed_datastores)
    failures += check_update_kind(request)
    failures += _check_sizes(request, max_payload_bytes)
    failures += expectation_failures(request)
    if request.dicom_updates is not None:
        for name, document in request.dicom_updates.documents().items():
            walk = walk_document(document, f"DICOMUpdates.{name}")
            failures += walk.failures
            updatable = name == "updatableAttributes"
            for entry in walk.entries:
                failure = check_attribute(entry, force=request.force, updatable=updatable)
                if failure:
                    failures.append(failure)
    return tuple(failures)


def _check_sizes(request: UpdateRequest, max_payload_bytes: int) -> list[ValidationFailure]:
    # The quota's unit (raw JSON, base64, whole body) is undocumented: we count the raw JSON we send.
    sizes = request.encoded_sizes()
    failures = [
        ValidationFailure(
            FailureCode.PAYLOAD_TOO_LARGE,
            f"DICOMUpdates.{name}",
            f"DICOMUpdates.{name} exceeds the API limit of {API_BLOB_LIMIT_BYTES} bytes",
        )
        for name, size in sizes.items()
        if size > API_BLOB_LIMIT_BYTES
    ]
    if sum(sizes.values()) > max_payload_bytes:
        failures.append(
            ValidationFailure(
                FailureCode.PAYLOAD_TOO_LARGE,
                "DICOMUpdates",
                f"DICOMUpdates documents exceed the update payload limit of {max_payload_bytes} bytes",
            )
        )
    return failures
