"""Whether a rule applies to an image set an import created or changed."""

from __future__ import annotations

import re
from typing import Protocol

from updater.imports.changes import ImageSetDocument, dicom_text
from updater.imports.levels import AttributeLevel, level_of
from updater.imports.rules import AttributeCondition, Rule


class ImportScope(Protocol):
    """What an import event says about where image sets came from: a job (`Import Job Completed`)
    knows its input prefix; a single image set (`Image Set Created`) does not (None)."""

    @property
    def datastore_id(self) -> str: ...

    @property
    def input_s3_uri(self) -> str | None: ...


def rule_matches(rule: Rule, job: ImportScope, image_set: ImageSetDocument) -> bool:
    """All of the rule's conditions hold (an empty list of alternatives does not constrain). A rule
    on input prefixes does not match where the prefix is unknown: its job's event applies it."""
    match = rule.match
    if match.datastores and job.datastore_id not in match.datastores:
        return False
    if match.input_prefixes and (
        job.input_s3_uri is None or not any(_under(job.input_s3_uri, p) for p in match.input_prefixes)
    ):
        return False
    if match.modalities and not _has_modality(image_set, match.modalities):
        return False
    return all(condition_holds(condition, image_set) for condition in match.attributes)


def condition_holds(condition: AttributeCondition, image_set: ImageSetDocument) -> bool:
    """Some value of the keyword (on any series or instance, for those levels) passes the test."""
    texts = [
        dicom_text(value) for value in image_set.values_of(condition.keyword, level_of(condition.keyword))
    ]
    if condition.equals is not None:
        return condition.equals in texts
    assert condition.regex is not None  # the model guarantees exactly one test
    pattern = re.compile(condition.regex)
    return any(pattern.fullmatch(text) for text in texts)


def _under(input_s3_uri: str, prefix: str) -> bool:
    return input_s3_uri.startswith(prefix) or input_s3_uri.rstrip("/") == prefix.rstrip("/")


def _has_modality(image_set: ImageSetDocument, modalities: list[str]) -> bool:
    present = {dicom_text(value) for value in image_set.values_of("Modality", AttributeLevel.SERIES)}
    return bool(present.intersection(modalities))
