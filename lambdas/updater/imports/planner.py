"""Plans the UpdateRequests an import calls for: one per (image set, rule or corrections file).

The output is plain native `UpdateRequest` dicts (`updater.domain.request.parse_update_request` accepts them),
so the requests take the standard path: ingest queue, validation, pacing, settle polling, ledger,
outcome. Their `requestId` is derived from the image set, the version an import made and the source
(job id instead of version when the job's manifest does not say the version), so a replayed event
and the other event about the same version (`Image Set Created` and `Import Job Completed` both
name it) yield the same ids: the ledger applies nothing twice. With a version, the rules read that
version's metadata, not a later one the updater (or anyone) made. Because a change is planned only
where the value differs, a replay after the updates landed plans nothing at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from updater.domain.validation.dicom_dictionary import entry_for_keyword
from updater.imports.changes import ImageSetDocument, MetadataChanges, NodePath
from updater.imports.corrections import Correction, CorrectionsFile
from updater.imports.levels import AttributeLevel, level_of
from updater.imports.matching import ImportScope, rule_matches
from updater.imports.rules import Action, MapAction, NormalizeAction, RemoveAction, Rule, RuleSet, SetAction
from updater.imports.transforms import apply_transforms

MetadataFetcher = Callable[..., Mapping[str, Any]]  # (datastore id, image set id[, version id])
REQUEST_ID_PREFIX = "import-"


@dataclass(frozen=True)
class PlannedUpdate:
    source_id: str  # "rule:<id>" or "corrections:<key>"
    request: dict[str, Any]
    changed_keywords: list[str]  # names only, for logs


@dataclass
class ImportPlan:
    updates: list[PlannedUpdate] = field(default_factory=list)
    image_sets_seen: int = 0
    # (image set, source) pairs whose source applied but found every value already correct.
    skipped: int = 0

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [update.request for update in self.updates]


def import_request_id(job_id: str, image_set_id: str, source_id: str) -> str:
    digest = hashlib.sha256(f"{job_id}\n{image_set_id}\n{source_id}".encode()).hexdigest()
    return REQUEST_ID_PREFIX + digest


def version_request_id(datastore_id: str, image_set_id: str, version_id: str, source_id: str) -> str:
    """Once per image set version and source, whichever import event plans it."""
    text = f"version\n{datastore_id}\n{image_set_id}\n{version_id}\n{source_id}"
    return REQUEST_ID_PREFIX + hashlib.sha256(text.encode()).hexdigest()


class PlanScope(ImportScope, Protocol):
    @property
    def job_id(self) -> str: ...


def plan_import_updates(
    job: PlanScope,
    image_set_ids: Iterable[str],
    *,
    fetch_metadata: MetadataFetcher,
    rules: RuleSet,
    corrections: Sequence[CorrectionsFile] = (),
    versions: Mapping[str, str] | None = None,
) -> ImportPlan:
    """Compare each image set's current metadata with what the rules and corrections want."""
    plan = ImportPlan()
    if not rules.active_rules and not corrections:
        # Nothing could apply: spare the GetImageSetMetadata calls (50/s account quota).
        plan.image_sets_seen = sum(1 for _ in image_set_ids)
        return plan
    for image_set_id in image_set_ids:
        plan.image_sets_seen += 1
        version = (versions or {}).get(image_set_id)
        at = (version,) if version else ()
        image_set = ImageSetDocument(fetch_metadata(job.datastore_id, image_set_id, *at))
        for source_id, changes in _source_changes(job, image_set, rules, corrections):
            if not changes:
                plan.skipped += 1
                continue
            request_id = (
                version_request_id(job.datastore_id, image_set_id, version, source_id)
                if version
                else import_request_id(job.job_id, image_set_id, source_id)
            )
            request = {
                "datastoreId": job.datastore_id,
                "imageSetId": image_set_id,
                "requestId": request_id,
                "DICOMUpdates": changes.dicom_updates(),
            }
            plan.updates.append(PlannedUpdate(source_id, request, changes.changed_keywords))
    return plan


def _source_changes(
    job: ImportScope,
    image_set: ImageSetDocument,
    rules: RuleSet,
    corrections: Sequence[CorrectionsFile],
) -> list[tuple[str, MetadataChanges]]:
    """(source id, changes) of every rule that matches and every corrections file that names the set."""
    found = [
        (f"rule:{rule.id}", rule_changes(rule, image_set))
        for rule in rules.active_rules
        if rule_matches(rule, job, image_set)
    ]
    for file in corrections:
        changes = corrections_changes(file, image_set)
        if changes is not None:
            found.append((file.source_id, changes))
    return found


def rule_changes(rule: Rule, image_set: ImageSetDocument) -> MetadataChanges:
    changes = MetadataChanges(image_set)
    for action in rule.actions:
        for path in image_set.paths_at(level_of(action.keyword)):
            _apply(action, path, image_set, changes)
    return changes


def _apply(action: Action, path: NodePath, image_set: ImageSetDocument, changes: MetadataChanges) -> None:
    if isinstance(action, SetAction):
        changes.set(path, action.keyword, action.value)
        return
    if isinstance(action, RemoveAction):
        changes.remove(path, action.keyword)
        return
    present, current = image_set.current(path, action.keyword)
    if not present or current is None:
        return  # normalizing or mapping nothing: leave absent and empty values alone
    if isinstance(action, NormalizeAction):
        person_name = _vr(action.keyword) == "PN"
        normalized = apply_transforms(current, action.transforms, person_name=person_name)
        changes.set(path, action.keyword, normalized)
    elif isinstance(action, MapAction) and isinstance(current, str | int | float):
        mapped = action.table.get(str(current).rstrip(" "))
        if mapped is not None:
            changes.set(path, action.keyword, mapped)


def corrections_changes(file: CorrectionsFile, image_set: ImageSetDocument) -> MetadataChanges | None:
    """The file's changes to this image set, or None when no entry names its study, series or instances."""
    document = file.document
    entries: list[tuple[Correction, list[NodePath] | None]] = []
    study = document.studies.get(image_set.study_instance_uid)
    if study is not None:
        entries.append((study, None))
    for series_uid in image_set.series_uids():
        series = document.series.get(series_uid)
        if series is not None:
            entries.append((series, [("Study", "Series", series_uid)]))
    for sop_uid, path in image_set.instance_paths():
        instance = document.instances.get(sop_uid)
        if instance is not None:
            entries.append((instance, [path]))
    if not entries:
        return None
    changes = MetadataChanges(image_set)
    for correction, series_paths in entries:  # studies, then series, then instances: specific wins
        _apply_correction(correction, series_paths, image_set, changes)
    return changes


def _apply_correction(
    correction: Correction,
    own_paths: list[NodePath] | None,
    image_set: ImageSetDocument,
    changes: MetadataChanges,
) -> None:
    def paths(keyword: str) -> list[NodePath]:
        level = level_of(keyword)
        if own_paths is not None and level in (AttributeLevel.SERIES, AttributeLevel.INSTANCE):
            return own_paths
        return image_set.paths_at(level)

    for keyword, value in correction.set.items():
        for path in paths(keyword):
            changes.set(path, keyword, value)
    for keyword in correction.remove:
        for path in paths(keyword):
            changes.remove(path, keyword)


def _vr(keyword: str) -> str | None:
    entry = entry_for_keyword(keyword)
    return None if entry is None else entry.vr
