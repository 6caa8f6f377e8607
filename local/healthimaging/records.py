"""In-memory records of the emulated service: data stores, image sets and their versions, import jobs."""

from __future__ import annotations

import copy
import dataclasses
import secrets
from dataclasses import dataclass, field
from typing import Any

from local.healthimaging.image_frames import StoredFrame

MetadataDocument = dict[str, Any]


def new_resource_id() -> str:
    """Data store, image set and job ids match `[0-9a-z]{32}`."""
    return secrets.token_hex(16)


@dataclass
class PendingOutcome:
    """What a LOCKED version becomes once its settle deadline passes."""

    deadline: float
    workflow_status: str
    document: MetadataDocument
    message: str | None = None
    completed_event: str = "Image Set Updated"


@dataclass
class ImageSetVersion:
    version_id: str
    state: str
    workflow_status: str
    created_at: float
    updated_at: float
    # The metadata this version serves: the previous version's until an update settles successfully.
    document: MetadataDocument
    message: str | None = None
    forced: bool = False
    pending: PendingOutcome | None = None

    def snapshot(self) -> ImageSetVersion:
        return dataclasses.replace(self, document=copy.deepcopy(self.document), pending=None)


@dataclass
class PendingDeletion:
    deadline: float


@dataclass
class PendingCopySource:
    """A copy reads this image set until `deadline`: LOCKED, COPYING_WITH_READ_ONLY_ACCESS meanwhile."""

    deadline: float


@dataclass
class ImageSet:
    image_set_id: str
    datastore_id: str
    created_at: float
    versions: list[ImageSetVersion] = field(default_factory=list)
    is_primary: bool = True
    tags: dict[str, str] = field(default_factory=dict)
    # Image frame id -> stored frame (GetImageFrame); frames never change, versions only re-point.
    frames: dict[str, StoredFrame] = field(default_factory=dict)
    deletion: PendingDeletion | None = None
    copy_source: PendingCopySource | None = None
    deleted_at: float | None = None

    @property
    def latest(self) -> ImageSetVersion:
        return self.versions[-1]

    def version(self, version_id: str) -> ImageSetVersion | None:
        for version in self.versions:
            if version.version_id == version_id:
                return version
        return None

    def next_version_id(self) -> str:
        return str(int(self.latest.version_id) + 1)

    @property
    def state(self) -> str:
        if self.deleted_at is not None:
            return "DELETED"
        if self.deletion is not None or self.copy_source is not None:
            return "LOCKED"
        return self.latest.state

    @property
    def workflow_status(self) -> str:
        if self.deleted_at is not None:
            return "DELETED"
        if self.deletion is not None:
            return "DELETING"
        if self.copy_source is not None:
            return "COPYING_WITH_READ_ONLY_ACCESS"
        return self.latest.workflow_status

    @property
    def study_instance_uid(self) -> str | None:
        study = self.latest.document.get("Study", {}).get("DICOM", {})
        uid = study.get("StudyInstanceUID")
        return uid if isinstance(uid, str) else None


@dataclass
class Datastore:
    datastore_id: str
    name: str
    created_at: float
    status: str = "CREATING"
    updated_at: float = 0.0
    kms_key_arn: str | None = None
    lambda_authorizer_arn: str | None = None
    # The documented default: "Data stores use HTJ2K as the storage format by default".
    lossless_storage_format: str = "HTJ2K"
    # When CREATING becomes ACTIVE, or DELETING becomes DELETED.
    transition_deadline: float | None = None
    tags: dict[str, str] = field(default_factory=dict)
    image_sets: dict[str, ImageSet] = field(default_factory=dict)


@dataclass
class ImportJob:
    job_id: str
    job_name: str
    datastore_id: str
    status: str
    submitted_at: float
    input_s3_uri: str
    output_s3_uri: str
    data_access_role_arn: str
    # Kept and returned; a DICOM JSON metadata import is not applied by the emulator.
    import_configuration: dict[str, Any] | None = None
    ended_at: float | None = None
    message: str | None = None
