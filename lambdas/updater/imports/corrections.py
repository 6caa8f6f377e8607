"""Sidecar corrections files shipped with an import's input, and their reader.

Many sites send their fixes next to the DICOM files: a JSON file named `corrections.json` (or ending
in `corrections.json`, e.g. `site-a-corrections.json`) directly under the import's `inputS3Uri`.
Format, version 1 (keywords are standard DICOM keywords; values are single strings or numbers):

    {"version": 1,
     "studies": {"<StudyInstanceUID>": {"set": {"PatientName": "DOE^JANE"}, "remove": ["PatientComments"]}},
     "series": {"<SeriesInstanceUID>": {"set": {"StationName": "CT-ROOM-1"}}},
     "instances": {"<SOPInstanceUID>": {"set": {"ImageComments": "rescanned"}}}}

A study or series entry applies to every image set holding that study/series and may name Patient,
Study and Series level attributes; an instance entry names instance-level attributes only. Within a
file, the more specific entry wins (instances over series over studies). Each file is one source:
its changes to an image set travel as one request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from updater.imports.levels import AttributeLevel, keyword_problem, level_of
from updater.imports.manifests import S3Location

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CORRECTIONS_SUFFIX = "corrections.json"
# A corrections file is a small document read whole; anything larger is refused, not streamed.
MAX_CORRECTIONS_BYTES = 5 * 1024 * 1024
_UPPER_LEVELS = (AttributeLevel.PATIENT, AttributeLevel.STUDY, AttributeLevel.SERIES)

AttributeValue = str | int | float


def _updatable(keyword: str, allowed: tuple[AttributeLevel, ...]) -> str:
    problem = keyword_problem(keyword)
    if problem is None and level_of(keyword) not in allowed:
        problem = f"{keyword} is stored at the {level_of(keyword)} level, not allowed in this section"
    if problem is not None:
        raise ValueError(problem)
    return keyword


class Correction(BaseModel):
    """Attribute updates for one UID: `set` keyword -> value, `remove` keywords."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    set: dict[str, AttributeValue] = {}
    remove: list[str] = []

    @classmethod
    def _levels(cls) -> tuple[AttributeLevel, ...]:
        return _UPPER_LEVELS

    @field_validator("set")
    @classmethod
    def _set_keywords(cls, updates: dict[str, AttributeValue]) -> dict[str, AttributeValue]:
        for keyword in updates:
            _updatable(keyword, cls._levels())
        return updates

    @field_validator("remove")
    @classmethod
    def _remove_keywords(cls, keywords: list[str]) -> list[str]:
        for keyword in keywords:
            _updatable(keyword, cls._levels())
        return keywords


class UpperLevelCorrection(Correction):
    """Correction keyed by a StudyInstanceUID or SeriesInstanceUID."""


class InstanceCorrection(Correction):
    @classmethod
    def _levels(cls) -> tuple[AttributeLevel, ...]:
        return (AttributeLevel.INSTANCE,)


class CorrectionsDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    studies: dict[str, UpperLevelCorrection] = {}
    series: dict[str, UpperLevelCorrection] = {}
    instances: dict[str, InstanceCorrection] = {}


@dataclass(frozen=True)
class CorrectionsFile:
    name: str  # the object key: names the source in logs, summaries and request ids (not PHI)
    document: CorrectionsDocument

    @property
    def source_id(self) -> str:
        return f"corrections:{self.name}"


@dataclass(frozen=True)
class RejectedCorrectionsFile:
    name: str
    problems: list[str]


@dataclass(frozen=True)
class CorrectionsLoad:
    files: list[CorrectionsFile]
    rejected: list[RejectedCorrectionsFile]


def parse_corrections(name: str, text: str | bytes) -> CorrectionsFile | RejectedCorrectionsFile:
    """Parse one corrections file; problems name fields, never values (the file holds PHI)."""
    try:
        raw = json.loads(text)
    except ValueError:
        return RejectedCorrectionsFile(name, ["not JSON"])
    try:
        return CorrectionsFile(name, CorrectionsDocument.model_validate(raw))
    except ValidationError as error:
        return RejectedCorrectionsFile(name, _problems(error, raw))


def _problems(error: ValidationError, raw: Any) -> list[str]:
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        where = ".".join(_safe_location(list(item["loc"]), raw))
        problems.append(f"{where}: {str(item['msg']).removeprefix('Value error, ')}")
    return problems


def _safe_location(location: list[Any], raw: Any) -> list[str]:
    # A section key is a DICOM UID, an identifier of the patient's data: name the entry by position.
    if len(location) >= 2 and location[0] in ("studies", "series", "instances"):
        section = raw.get(location[0]) if isinstance(raw, dict) else None
        keys = list(section) if isinstance(section, dict) else []
        position = keys.index(location[1]) if location[1] in keys else -1
        location[1] = f"entry {position + 1}" if position >= 0 else "entry"
    return [str(part) for part in location]


def is_corrections_file(key: str) -> bool:
    return key.rsplit("/", 1)[-1].endswith(CORRECTIONS_SUFFIX)


class CorrectionsReader:
    """Adapter: the corrections files directly under an import's input prefix."""

    def __init__(self, s3_client: S3Client) -> None:
        self._s3 = s3_client

    def read(self, input_s3_uri: str) -> CorrectionsLoad:
        location = S3Location.parse(input_s3_uri)
        files: list[CorrectionsFile] = []
        rejected: list[RejectedCorrectionsFile] = []
        for key, size in self._candidates(location):
            parsed = self._load(location.bucket, key, size)
            if isinstance(parsed, CorrectionsFile):
                files.append(parsed)
            else:
                rejected.append(parsed)
        return CorrectionsLoad(files, rejected)

    def _candidates(self, location: S3Location) -> list[tuple[str, int]]:
        # Delimiter "/": only files directly under the prefix, not in the DICOM sub-folders.
        paginator = self._s3.get_paginator("list_objects_v2")
        found = []
        for page in paginator.paginate(Bucket=location.bucket, Prefix=location.prefix, Delimiter="/"):
            for item in page.get("Contents", []):
                if is_corrections_file(item["Key"]):
                    found.append((item["Key"], item.get("Size", 0)))
        return sorted(found)

    def _load(self, bucket: str, key: str, size: int) -> CorrectionsFile | RejectedCorrectionsFile:
        if size > MAX_CORRECTIONS_BYTES:
            return RejectedCorrectionsFile(key, [f"larger than {MAX_CORRECTIONS_BYTES} bytes"])
        try:
            with self._s3.get_object(Bucket=bucket, Key=key)["Body"] as body:
                text = body.read(MAX_CORRECTIONS_BYTES + 1)
        except ClientError as error:
            return RejectedCorrectionsFile(key, [f"cannot be read ({error.response['Error'].get('Code')})"])
        return parse_corrections(key, text)
