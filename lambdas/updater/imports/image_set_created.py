"""Reacting to HealthImaging's per-image-set `Image Set Created` event: the import rules, once.

AWS's own indexing sample moved to per-image-set events because job-level processing was
all-or-nothing and could outrun a function's timeout; here each created image set is planned on
its own, as soon as it exists. The rules run on the version the event names (its metadata, not a
later version's), and their requests are keyed by that version (`planner.version_request_id`), the
same ids the job's `Import Job Completed` reaction derives from the job manifest: whichever event
comes first applies a rule, the other finds it ended. Rules that match on the job's input prefix
cannot be judged from a single image set and wait for the job's event; corrections files sit in
the job's input too. The updater's own versions are never planned on: an update announces itself
as `Image Set Updated`, never `Created`, and an event whose status says otherwise is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from updater.imports.events import ImportEventInvalid
from updater.imports.planner import ImportPlan, MetadataFetcher, plan_import_updates
from updater.imports.rules import RuleSet

IMAGE_SET_CREATED = "Image Set Created"
_ID = re.compile(r"^[0-9a-z]{32}$")
_CREATED_STATUSES = frozenset({"CREATED", "IMPORTED"})


class ImageSetCreatedInvalid(ImportEventInvalid):
    """An `Image Set Created` event without usable ids (the message names fields, never values)."""

    def __init__(self, problem: str) -> None:
        self.problems = [problem]
        ValueError.__init__(self, "invalid Image Set Created event: " + problem)


@dataclass(frozen=True)
class CreatedImageSet:
    datastore_id: str
    image_set_id: str
    version_id: str
    input_s3_uri: str | None = None  # unknown for one image set: input-prefix rules wait for the job
    job_id: str = ""


def parse_image_set_created(envelope: Mapping[str, Any]) -> CreatedImageSet | None:
    """The created version; None for an event whose status says it is no creation (ignored).
    ImportEventInvalid (naming fields, never values) when it names no usable ids."""
    detail = envelope.get("detail")
    if not isinstance(detail, Mapping):
        raise ImageSetCreatedInvalid("detail is not an object")
    status = detail.get("imageSetWorkflowStatus")
    if status is not None and status not in _CREATED_STATUSES:
        return None
    image_set_id = detail.get("imageSetId") or detail.get("imagesetId") or _from_resources(envelope)
    datastore_id, version = detail.get("datastoreId"), detail.get("imageSetVersion")
    if not (isinstance(datastore_id, str) and _ID.fullmatch(datastore_id)):
        raise ImageSetCreatedInvalid("datastoreId is missing or malformed")
    if not (isinstance(image_set_id, str) and _ID.fullmatch(image_set_id)):
        raise ImageSetCreatedInvalid("imageSetId is missing or malformed")
    version_id = str(version) if isinstance(version, int | str) and str(version).isdigit() else "1"
    return CreatedImageSet(datastore_id, image_set_id, version_id)


def _from_resources(envelope: Mapping[str, Any]) -> str | None:
    resources = envelope.get("resources")
    if isinstance(resources, list) and resources and isinstance(resources[0], str):
        return resources[0].rsplit("/", 1)[-1]
    return None


def plan_created_image_set(
    created: CreatedImageSet, *, fetch_metadata: MetadataFetcher, rules: RuleSet
) -> ImportPlan:
    return plan_import_updates(
        created,
        [created.image_set_id],
        fetch_metadata=fetch_metadata,
        rules=rules,
        versions={created.image_set_id: created.version_id},
    )
