"""The newest developer guide's rules for UpdateImageSetMetadata on *primary* image sets ("strict").

"Updating image set metadata" (newest edition): "The Patient and Series level metadata elements can
not be updated for primary image sets. The UpdateImageSet will not support --force to update
StudyInstanceUID, SeriesInstanceUID, and SOPInstanceUID for primary image sets"; `force` "allows
you to update elements of non-primary image sets". Older editions and the CLI examples (the seed)
show those updates succeeding, which is the "legacy" profile: these checks do not run there.

Decisions where the guide says nothing (see docs/emulator.md):
- the refusal is synchronous, a ValidationException (400), like every other rule about the request;
- removing a whole series is a Series-level change (the newest edition also drops "remove Series"
  from what updates can do), removing an instance is not;
- the other constraints `force` lifts (StudyID, private instance tags, sequences, multi-valued,
  non-standard attributes) stay liftable on primary image sets: the guide names only the UIDs.
"""

from __future__ import annotations

from local.healthimaging.dicom_levels import Level
from local.healthimaging.errors import ValidationException
from local.healthimaging.update_document import UpdateDocument
from local.healthimaging.update_plan import DicomUpdates

PRIMARY_REFUSAL = "Primary image set"
_UIDS_FORCE_CANNOT_CHANGE = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
_LEVELS_NOT_UPDATABLE = (Level.PATIENT, Level.SERIES)


def check_primary_rules(updates: DicomUpdates) -> None:
    """Raise the refusal for the first change a primary image set does not take under "strict"."""
    for document, member in (
        (updates.removable, "removableAttributes"),
        (updates.updatable, "updatableAttributes"),
    ):
        if document is not None:
            problem = _first_violation(document)
            if problem is not None:
                raise ValidationException(f"{PRIMARY_REFUSAL}: {member} {problem}")


def _first_violation(document: UpdateDocument) -> str | None:
    for group in document.groups:
        if group.level in _LEVELS_NOT_UPDATABLE and group.attributes:
            return f"names {group.level.value} level elements, which cannot be updated on a primary image set"
        protected = sorted(set(group.attributes) & set(_UIDS_FORCE_CANNOT_CHANGE))
        if protected:
            return f"changes {protected[0]}, which force cannot change on a primary image set"
    if any(removal.instance_uid is None for removal in document.removals):
        return "removes a series, which cannot be done on a primary image set"
    return None
