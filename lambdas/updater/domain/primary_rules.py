"""What a primary image set takes: the newest developer guide's restrictions, applied as configured.

Since mid-2025 imports mark image sets primary. The newest edition of "Updating image set metadata"
says Patient- and Series-level elements cannot be updated on primary image sets, and `force` cannot
change StudyInstanceUID, SeriesInstanceUID or SOPInstanceUID there; older editions and the CLI
examples show both succeeding. Nobody has confirmed which holds on a real account, so a stage says
which rules the updater assumes (`PRIMARY_IMAGE_SET_RULES`):

    learn    (default) refuse nothing the service has not refused: once it refuses such a change on a
             primary image set, this environment refuses the same kind before calling
    strict   refuse before the call, as the newest guide says
    legacy   refuse nothing; a refusal from the service is still reported with its own code

The documented way around it changes the image set's id: copy the image set (a non-primary copy),
update the copy, delete the primary, then copy the copy back with promoteToPrimary.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any

from updater.domain.image_set import ImageSetVersion
from updater.domain.request import UpdateRequest

UIDS = frozenset({"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"})
ADVICE = (
    "primary image sets take no Patient- or Series-level changes and no forced UID changes: copy the "
    "image set, update the copy and promote it to primary (CopyImageSet promoteToPrimary, a new image set id)"
)


class PrimaryRules(StrEnum):
    LEARN = "learn"
    STRICT = "strict"
    LEGACY = "legacy"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _series(document: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield from (
        (uid, _mapping(node)) for uid, node in _mapping(_mapping(document.get("Study")).get("Series")).items()
    )


def _changes_uid(document: Mapping[str, Any]) -> bool:
    if UIDS & set(_mapping(_mapping(document.get("Study")).get("DICOM"))):
        return True
    for _uid, series in _series(document):
        if UIDS & set(_mapping(series.get("DICOM"))):
            return True
        if any(
            UIDS & set(_mapping(_mapping(i).get("DICOM"))) for i in _mapping(series.get("Instances")).values()
        ):
            return True
    return False


def restricted_on_primary(request: UpdateRequest) -> bool:
    """Whether the newest guide forbids this change on a primary image set: Patient- or
    Series-level elements (set or removed), a whole series removed, or a forced UID change."""
    if request.dicom_updates is None:
        return False  # a revert restores a version the image set had
    for name, document in request.dicom_updates.documents().items():
        if _mapping(document.get("Patient")).get("DICOM"):
            return True
        for _uid, series in _series(document):
            if series.get("DICOM") or (name == "removableAttributes" and not series):
                return True
        if request.force and name == "updatableAttributes" and _changes_uid(document):
            return True
    return False


class PrimaryImageSetPolicy:
    def __init__(self, rules: PrimaryRules) -> None:
        self._rules = rules
        self._refused_by_service = False  # learned in this warm environment

    def refuses(self, request: UpdateRequest, version: ImageSetVersion) -> bool:
        """Refuse before the call (no pacing slot, no call spent on a certain refusal)."""
        strict = self._rules is PrimaryRules.STRICT or (
            self._rules is PrimaryRules.LEARN and self._refused_by_service
        )
        return strict and version.is_primary is True and restricted_on_primary(request)

    def keeps_apart(self, request: UpdateRequest, version: ImageSetVersion) -> bool:
        """Whether `request` must not share a call on `version`: once refusals are expected, a
        refused call must be the refused request's own, never its batch-mates'."""
        expected = self._rules is PrimaryRules.STRICT or self._refused_by_service
        return expected and version.is_primary is True and restricted_on_primary(request)

    def explains_refusal(self, request: UpdateRequest, version: ImageSetVersion) -> bool:
        """Whether a ValidationException for this call is the primary-image-set rule (and learn it)."""
        if version.is_primary is not True or not restricted_on_primary(request):
            return False
        self._refused_by_service = True
        return True
