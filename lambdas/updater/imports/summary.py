"""The outcome of reacting to one import: counts and ids only, never attribute values."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from updater.domain.redaction import shown_file_name
from updater.imports.events import IgnoredReason

# EventBridge entries are capped at 256 KB and an import may list 5,000 failed files.
MAX_LISTED_FILE_NAMES = 100


class ImportSummary(BaseModel):
    """What the reaction did: published as the import summary outcome by the handler."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    job_id: str = Field(default="", alias="jobId")
    datastore_id: str = Field(default="", alias="datastoreId")
    image_sets_seen: int = Field(default=0, alias="imageSetsSeen")
    updates_requested: int = Field(default=0, alias="updatesRequested")
    # (image set, rule or corrections file) pairs that applied but found the values already correct.
    skipped: int = 0
    failed_files: int = Field(default=0, alias="failedFiles")
    # Input file names as `redaction.shown_file_name` shows them (names that are not machine-made,
    # often a patient's, by fingerprint); at most MAX_LISTED_FILE_NAMES of them.
    failed_file_names: list[str] = Field(default_factory=list, alias="failedFileNames")
    failed_file_names_truncated: bool = Field(default=False, alias="failedFileNamesTruncated")
    rejected_corrections_files: list[str] = Field(default_factory=list, alias="rejectedCorrectionsFiles")
    ignored_reason: IgnoredReason | None = Field(default=None, alias="ignoredReason")

    @property
    def ignored(self) -> bool:
        return self.ignored_reason is not None

    def wire_dict(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True)


def listed_file_names(names: Sequence[str]) -> tuple[list[str], bool]:
    """The names to list in a summary, and whether some were left out."""
    return [shown_file_name(n) for n in names[:MAX_LISTED_FILE_NAMES]], len(names) > MAX_LISTED_FILE_NAMES
