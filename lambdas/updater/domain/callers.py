"""Who may change which patient: callers recognised from their transport, and what each may do.

A caller is never what a message body says it is. Intake knows how each record arrived:

    caller queue (ingest, ingest.fifo) ─► SQS SenderId: the sending principal's unique id
                                          (AIDA... for a user, AROA...:<session> for a role)
    requests bus rule                  ─► the event's `source` (the bus policy ties each source to
                                          its principal) and `account`
    import reaction                    ─► the import rules, a caller of their own

and looks the caller up among the stage's configured callers (cdk.json `callers`, passed to the
functions as CALLERS). An unknown caller, or one outside its data stores, ends CALLER_NOT_ALLOWED;
a known caller using `force`, `revertToVersionId` or `includeStudyImageSets` without that right
ends OPERATION_NOT_ALLOWED, as does a selector, a merge or an HL7 ADT message (one request that
changes every image set of a patient or a study) from a caller without `patientLevel`. Both
before anything is read or written for the request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, TypeAdapter, field_serializer
from pydantic.alias_generators import to_camel

from updater.domain.audit import Caller
from updater.domain.errors import FailureCode, ValidationFailure
from updater.domain.ports import Clock
from updater.domain.request import UpdateRequest

ALL_DATASTORES = "*"
IMPORT_RULES_CALLER = "import-rules"
# How long an IAM principal that could not be resolved stays unresolved before another try.
UNRESOLVED_RETRY_S = 300.0


class Right(StrEnum):
    """What a plain metadata update does not need and a caller must be granted."""

    FORCE = "force"
    REVERT = "revert"
    INCLUDE_STUDY = "includeStudyImageSets"
    PATIENT_LEVEL = "patientLevel"  # selectors, merges and HL7 ADT: many image sets per request


class CallerPolicy(BaseModel):
    """One configured caller, as the stack hands it to the functions."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, alias_generator=to_camel, extra="forbid")

    name: str
    # IAM principals (user or role ARNs) and, when IAM cannot be asked (another account), their
    # unique ids as SQS reports senders.
    principals: tuple[str, ...] = ()
    sender_ids: tuple[str, ...] = ()
    # EventBridge sources this caller puts requests on the requests bus with.
    event_sources: tuple[str, ...] = ()
    datastores: tuple[str, ...] = (ALL_DATASTORES,)
    may: frozenset[Right] = frozenset()

    @field_serializer("may")
    def _sorted_rights(self, may: frozenset[Right]) -> list[str]:
        return sorted(may)  # a set's order would change the template at every synth

    @property
    def accounts(self) -> frozenset[str]:
        """The accounts of the caller's principals (an ARN's fifth field)."""
        return frozenset(arn.split(":")[4] for arn in self.principals if arn.count(":") >= 5)

    def may_touch(self, datastore_id: str) -> bool:
        return ALL_DATASTORES in self.datastores or datastore_id in self.datastores


_POLICIES = TypeAdapter(tuple[CallerPolicy, ...])


def parse_policies(text: str) -> tuple[CallerPolicy, ...]:
    """The CALLERS setting (a JSON array); empty text means no callers at all."""
    return _POLICIES.validate_python(json.loads(text)) if text.strip() else ()


def required_rights(request: UpdateRequest) -> frozenset[Right]:
    rights = set()
    if request.force:
        rights.add(Right.FORCE)
    if request.revert_to_version_id is not None:
        rights.add(Right.REVERT)
    if request.include_study_image_sets:
        rights.add(Right.INCLUDE_STUDY)
    return frozenset(rights)


@dataclass(frozen=True)
class Identified:
    """A record's caller: what the audit trail says of it, and its policy when it is configured."""

    caller: Caller
    policy: CallerPolicy | None

    def authorize(
        self, request: UpdateRequest, *, extra: frozenset[Right] = frozenset()
    ) -> ValidationFailure | None:
        """Why this caller may not make `request`, with `extra` rights besides those it needs
        (None: it may). Messages name the rule, never the caller's identity or the request's values."""
        if self.policy is None:
            return ValidationFailure(
                FailureCode.CALLER_NOT_ALLOWED, "", "the sender is not a caller of this stage"
            )
        if not self.policy.may_touch(request.datastore_id):
            return ValidationFailure(
                FailureCode.CALLER_NOT_ALLOWED, "datastoreId", "the caller may not change this data store"
            )
        missing = sorted((required_rights(request) | extra) - self.policy.may)
        if missing:
            return ValidationFailure(
                FailureCode.OPERATION_NOT_ALLOWED,
                str(missing[0]),
                f"the caller may not use {', '.join(missing)}",
            )
        return None


class PrincipalIds(Protocol):
    def unique_id(self, principal_arn: str) -> str | None:
        """The principal's unique id (RoleId / UserId), None when IAM does not know it."""
        ...


class CallerDirectory:
    """The stage's callers, found by how a record arrived."""

    def __init__(
        self,
        policies: Iterable[CallerPolicy],
        *,
        principal_ids: PrincipalIds | None = None,
        clock: Clock | None = None,
        import_rights: frozenset[Right] = frozenset(),
    ) -> None:
        self._policies = tuple(policies)
        self._principal_ids = principal_ids
        self._clock = clock
        self._import = CallerPolicy(name=IMPORT_RULES_CALLER, may=import_rights)
        self._by_sender: dict[str, CallerPolicy] = {}
        for policy in self._policies:
            for sender_id in policy.sender_ids:
                self._by_sender[sender_id] = policy
        self._by_source: dict[str, CallerPolicy] = {
            source: policy for policy in self._policies for source in policy.event_sources
        }
        self._unresolved: dict[str, CallerPolicy] = {
            arn: policy for policy in self._policies for arn in policy.principals
        }
        self._next_resolve_at = 0.0

    def from_queue(self, sender_id: str) -> Identified:
        """A record sent straight to a caller queue, by the principal SQS names."""
        unique_id = sender_id.split(":", 1)[0]
        policy = self._by_sender.get(unique_id)
        if policy is None and unique_id and self._resolve():
            policy = self._by_sender.get(unique_id)
        caller = Caller(kind="iam", identity=sender_id, name=policy.name if policy else "")
        return Identified(caller, policy)

    def from_bus(self, source: str, account: str) -> Identified:
        """An event the requests bus rule delivered: its source names the caller, and its account
        must be one of that caller's."""
        policy = self._by_source.get(source)
        if policy is not None and policy.accounts and account not in policy.accounts:
            policy = None
        caller = Caller(kind="eventbridge", identity=source, name=policy.name if policy else "")
        return Identified(caller, policy)

    def import_rules(self, rule: str = "") -> Identified:
        return Identified(Caller(kind="import-rule", identity=rule, name=IMPORT_RULES_CALLER), self._import)

    def _resolve(self) -> bool:
        """Ask IAM for the unique ids of principals not resolved yet (at most every few minutes);
        True when any was."""
        if self._principal_ids is None or not self._unresolved:
            return False
        now = self._clock.now() if self._clock is not None else 0.0
        if now < self._next_resolve_at:
            return False
        self._next_resolve_at = now + UNRESOLVED_RETRY_S
        resolved = False
        for arn, policy in list(self._unresolved.items()):
            unique_id = self._principal_ids.unique_id(arn)
            if unique_id:
                self._by_sender[unique_id] = policy
                del self._unresolved[arn]
                resolved = True
        return resolved


def policies_json(policies: Iterable[CallerPolicy]) -> str:
    """The CALLERS setting for `policies` (compact: Lambda allows 4 KB of environment in all)."""
    return json.dumps(
        [
            p.model_dump(mode="json", by_alias=True, exclude_defaults=True) | {"name": p.name}
            for p in policies
        ],
        separators=(",", ":"),
        sort_keys=True,
    )


def describe_rights(rights: Mapping[str, bool]) -> frozenset[Right]:
    """The rights named true in a `{"force": true, ...}` mapping (the stage configuration's form)."""
    return frozenset(Right(name) for name, granted in rights.items() if granted)
