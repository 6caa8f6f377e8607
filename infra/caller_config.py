"""The `callers` of a stage in cdk.json, as the app reads them (no CDK here: the local tools and
the stage check read the configuration without starting jsii). The policies derived from them are
in `infra/callers.py`."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

PRINCIPAL_PATTERN = r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[A-Za-z0-9+=,.@/_-]+$"
# A RoleId (AROA...) or UserId (AIDA...) as SQS reports senders.
SENDER_ID_PATTERN = r"^A[A-Z0-9]{15,127}$"
# EventBridge reserves aws.* for AWS services; a caller's source is its own.
EVENT_SOURCE_PATTERN = r"^[A-Za-z0-9._-]{1,256}$"
CALLER_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
DatastoreRef = Annotated[str, Field(pattern=r"^([0-9a-z]{32}|\*)$")]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class CallerRights(_Camel):
    """What a plain metadata update does not need: each is granted explicitly."""

    force: bool = False
    revert: bool = False
    include_study_image_sets: bool = False
    # Selectors, merges and HL7 ADT: one request that changes every image set of a patient or study.
    patient_level: bool = False

    def names(self) -> list[str]:
        """The rights as the functions name them (updater.domain.callers.Right)."""
        granted = {
            "force": self.force,
            "revert": self.revert,
            "includeStudyImageSets": self.include_study_image_sets,
            "patientLevel": self.patient_level,
        }
        return sorted(name for name, value in granted.items() if value)


class CallerConfig(_Camel):
    name: str
    principal: str = Field(pattern=PRINCIPAL_PATTERN, max_length=2048)
    sender_id: str | None = Field(default=None, pattern=SENDER_ID_PATTERN)
    event_source: str | None = Field(default=None, pattern=EVENT_SOURCE_PATTERN)
    datastores: tuple[DatastoreRef, ...] = ("*",)
    may: CallerRights = CallerRights()

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not CALLER_NAME_PATTERN.match(name) or name == "import-rules":
            raise ValueError(f"must match {CALLER_NAME_PATTERN.pattern} and not be import-rules")
        return name

    @field_validator("event_source")
    @classmethod
    def _own_source(cls, source: str | None) -> str | None:
        if source is not None and source.startswith("aws."):
            raise ValueError("aws.* sources belong to AWS services")
        return source

    @property
    def account(self) -> str:
        return self.principal.split(":")[4]

    def policy(self) -> dict[str, object]:
        """The caller as the functions' CALLERS setting holds it (updater.domain.callers.CallerPolicy)."""
        policy: dict[str, object] = {"name": self.name, "principals": [self.principal]}
        if self.sender_id:
            policy["senderIds"] = [self.sender_id]
        if self.event_source:
            policy["eventSources"] = [self.event_source]
        if self.datastores != ("*",):
            policy["datastores"] = list(self.datastores)
        if self.may.names():
            policy["may"] = self.may.names()
        return policy


class CallersConfig(_Camel):
    """The `callers` list with the checks that span callers."""

    callers: tuple[CallerConfig, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> CallersConfig:
        for what, values in (
            ("name", [c.name for c in self.callers]),
            ("eventSource", [c.event_source for c in self.callers if c.event_source]),
        ):
            if len(set(values)) != len(values):
                raise ValueError(f"each caller needs its own {what}")
        return self


def callers_setting(callers: Sequence[CallerConfig]) -> str:
    """The CALLERS environment variable: compact JSON, the same text at every synth."""
    return json.dumps([c.policy() for c in callers], separators=(",", ":"), sort_keys=True)
