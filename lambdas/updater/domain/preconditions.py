"""Preconditions: attribute values that must hold on the version an update is based on.

A request may carry two sets of them, shaped alike (``{"Patient": {keyword: value}, "Study": {...}}``):

* ``expect``, the caller's: "only if PatientID is still OLD-1". A mismatch ends the request
  PRECONDITION_FAILED with nothing changed, so an older correction never overwrites a newer one.
* ``matchedBy``, the selector's, set by the fan-out on each child (``domain.fan_out``): the search
  found the image set by these values, and they must still hold when its turn comes (and the
  search cannot filter on IssuerOfPatientID at all). A mismatch ends SELECTOR_NOT_MATCHED, which
  the parent counts apart from failures.

Both are checked by the lane's planner (``domain.round_planner``) against the metadata of the
version the update call names as ``latestVersion``, so the check and the compare-and-swap are about
the same version. A value of null expects the attribute absent or empty. Values compare as the
planner compares them (``planning.values_equal``: trailing padding insignificant).

Values are PHI: failures name the level and keyword, never the expected or the stored value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from updater.domain.errors import FailureCode, ValidationFailure
from updater.domain.planning import values_equal

if TYPE_CHECKING:
    from updater.domain.request import UpdateRequest


def expectation_failures(request: UpdateRequest) -> list[ValidationFailure]:
    """Keywords must be standard ones of the level they are given at (as in an attribute document)."""
    from updater.domain.validation.keywords import lookup_keyword  # noqa: PLC0415
    from updater.domain.validation.levels import level_of  # noqa: PLC0415

    failures: list[ValidationFailure] = []
    for name, expectations in (("expect", request.expect), ("matchedBy", request.matched_by)):
        for level, attributes in (expectations or {}).items():
            for keyword in attributes:
                field = f"{name}.{level}.{_shown(keyword)}"
                if lookup_keyword(keyword) is None:
                    rule = f"{field} is not a DICOM keyword"
                    failures.append(ValidationFailure(FailureCode.UNKNOWN_KEYWORD, field, rule))
                elif level_of(keyword).value != level:
                    failures.append(
                        ValidationFailure(
                            FailureCode.WRONG_LEVEL, field, f"{field} is not a {level}-level attribute"
                        )
                    )
    return failures


def _shown(keyword: str) -> str:
    return keyword if keyword.isascii() and keyword.isalnum() and len(keyword) <= 64 else "<key not shown>"


def unmet(expectations: Mapping[str, Mapping[str, Any]] | None, document: Mapping[str, Any]) -> str | None:
    """The first expectation `document` (a metadata document) does not meet, as `Level.Keyword`."""
    for level, attributes in (expectations or {}).items():
        node = document.get(level)
        dicom = node.get("DICOM") if isinstance(node, Mapping) else None
        stored = dicom if isinstance(dicom, Mapping) else {}
        for keyword, expected in attributes.items():
            if not values_equal(stored.get(keyword), expected):
                return f"{level}.{keyword}"
    return None


def precondition_failure(
    request: UpdateRequest, document: Mapping[str, Any]
) -> tuple[FailureCode, str] | None:
    """Why `request` may not be applied to the version `document` is the metadata of, or None."""
    location = unmet(request.matched_by, document)
    if location is not None:
        return FailureCode.SELECTOR_NOT_MATCHED, f"{location} no longer holds the value it was selected by"
    location = unmet(request.expect, document)
    if location is not None:
        return FailureCode.PRECONDITION_FAILED, f"{location} does not hold the expected value"
    return None


def has_preconditions(request: UpdateRequest) -> bool:
    return request.expect is not None or request.matched_by is not None
