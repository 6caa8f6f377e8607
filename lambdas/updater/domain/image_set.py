"""What the updater knows about one version of an image set (from GetImageSet / UpdateImageSetMetadata)."""

from __future__ import annotations

from dataclasses import dataclass

# Statuses of a version whose update is still running (the image set is LOCKED meanwhile).
IN_PROGRESS = frozenset(
    {"UPDATING", "UPDATING_FOR_STUDY_CONSISTENCY", "COPYING", "COPYING_WITH_READ_ONLY_ACCESS"}
)


@dataclass(frozen=True)
class ImageSetVersion:
    version_id: str
    state: str
    workflow_status: str | None
    message: str | None = None
    forced: bool = False
    is_primary: bool | None = None  # None: not told (the service's answer, or a remembered version)

    @property
    def settled(self) -> bool:
        """ACTIVE and no write in progress: UPDATED, UPDATE_FAILED, CREATED, COPIED, IMPORTED..."""
        return self.state == "ACTIVE" and self.workflow_status not in IN_PROGRESS

    @property
    def update_failed(self) -> bool:
        return self.workflow_status == "UPDATE_FAILED"
