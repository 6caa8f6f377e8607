"""Callers: recognised from how a record arrived, and held to what they may do."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.domain.fakes import VirtualClock
from updater.domain.callers import (
    UNRESOLVED_RETRY_S,
    CallerDirectory,
    CallerPolicy,
    Right,
    parse_policies,
    policies_json,
    required_rights,
)
from updater.domain.errors import FailureCode
from updater.domain.request import UpdateRequest

DS_A, DS_B = "a" * 32, "b" * 32
RIS_ROLE = "arn:aws:iam::111122223333:role/ris-corrections"
RIS = CallerPolicy(name="ris", principals=(RIS_ROLE,), datastores=(DS_A,))
EMR = CallerPolicy(
    name="emr",
    principals=("arn:aws:iam::444455556666:role/emr",),
    sender_ids=("AROAEMREXAMPLE",),
    event_sources=("hospital.emr",),
    may=frozenset({Right.FORCE, Right.REVERT}),
)


class FakePrincipalIds:
    def __init__(self, ids: dict[str, str]) -> None:
        self.ids = ids
        self.asked: list[str] = []

    def unique_id(self, principal_arn: str) -> str | None:
        self.asked.append(principal_arn)
        return self.ids.get(principal_arn)


def _request(**fields: object) -> UpdateRequest:
    base: dict[str, object] = {"datastoreId": DS_A, "imageSetId": "c" * 32}
    if "revertToVersionId" not in fields:
        base["DICOMUpdates"] = {"updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": {}}}}
    return UpdateRequest.model_validate(base | fields)


def test_a_sender_is_recognised_by_the_unique_id_iam_gives_its_role_once_asked() -> None:
    iam = FakePrincipalIds({RIS_ROLE: "AROARISEXAMPLE"})
    directory = CallerDirectory([RIS, EMR], principal_ids=iam, clock=VirtualClock())
    found = directory.from_queue("AROARISEXAMPLE:session-42")
    assert found.policy == RIS
    assert found.caller.name == "ris" and found.caller.kind == "iam"
    assert found.caller.identity == "AROARISEXAMPLE:session-42"
    assert directory.from_queue("AROARISEXAMPLE:other").policy == RIS
    assert iam.asked == [RIS_ROLE, "arn:aws:iam::444455556666:role/emr"]  # asked once, for each principal


def test_a_configured_sender_id_needs_no_iam_and_an_unknown_sender_is_no_caller() -> None:
    directory = CallerDirectory([RIS, EMR])
    assert directory.from_queue("AROAEMREXAMPLE:x").policy == EMR
    unknown = directory.from_queue("AIDASOMEONEELSE")
    assert unknown.policy is None and unknown.caller.name == ""
    failure = unknown.authorize(_request())
    assert failure is not None and failure.code is FailureCode.CALLER_NOT_ALLOWED


def test_iam_is_asked_again_for_unresolved_principals_only_after_a_while() -> None:
    clock = VirtualClock()
    iam = FakePrincipalIds({})
    directory = CallerDirectory([RIS], principal_ids=iam, clock=clock)
    assert directory.from_queue("AROARISEXAMPLE:s").policy is None
    assert directory.from_queue("AROARISEXAMPLE:s").policy is None
    assert iam.asked == [RIS_ROLE]
    iam.ids[RIS_ROLE] = "AROARISEXAMPLE"  # the role was created since
    clock.advance(UNRESOLVED_RETRY_S)
    assert directory.from_queue("AROARISEXAMPLE:s").policy == RIS


def test_bus_callers_are_their_source_and_only_from_their_own_account() -> None:
    directory = CallerDirectory([RIS, EMR])
    assert directory.from_bus("hospital.emr", "444455556666").policy == EMR
    assert directory.from_bus("hospital.emr", "999999999999").policy is None
    assert directory.from_bus("hospital.ris", "111122223333").policy is None


def test_data_stores_and_rights_are_enforced() -> None:
    directory = CallerDirectory([RIS, EMR], principal_ids=FakePrincipalIds({RIS_ROLE: "AROARIS"}))
    ris = directory.from_queue("AROARIS:s")
    assert ris.authorize(_request()) is None
    other_store = ris.authorize(_request(datastoreId=DS_B))
    assert other_store is not None and other_store.code is FailureCode.CALLER_NOT_ALLOWED
    forced = ris.authorize(_request(force=True))
    assert forced is not None and forced.code is FailureCode.OPERATION_NOT_ALLOWED
    assert forced.field == "force"
    revert = ris.authorize(_request(revertToVersionId="1"))
    assert revert is not None and revert.code is FailureCode.OPERATION_NOT_ALLOWED
    emr = directory.from_bus("hospital.emr", "444455556666")
    assert emr.authorize(_request(datastoreId=DS_B, force=True)) is None
    study = emr.authorize(_request(includeStudyImageSets=True))
    assert study is not None and study.field == "includeStudyImageSets"


def test_import_rules_are_a_caller_of_their_own() -> None:
    directory = CallerDirectory([], import_rights=frozenset({Right.FORCE}))
    imports = directory.import_rules("rule-7")
    assert imports.caller.kind == "import-rule" and imports.caller.name == "import-rules"
    assert imports.authorize(_request(force=True)) is None
    refused = imports.authorize(_request(revertToVersionId="1"))
    assert refused is not None and refused.code is FailureCode.OPERATION_NOT_ALLOWED


def test_the_setting_round_trips_and_is_the_same_text_every_time() -> None:
    text = policies_json([RIS, EMR])
    assert parse_policies(text) == (RIS, EMR)
    assert text == policies_json(parse_policies(text))
    assert parse_policies("") == ()


@given(
    force=st.booleans(),
    revert=st.booleans(),
    study=st.booleans(),
    granted=st.sets(st.sampled_from(list(Right))),
    own_store=st.booleans(),
)
def test_a_caller_may_exactly_when_its_store_and_every_right_used_are_granted(
    force: bool, revert: bool, study: bool, granted: set[Right], own_store: bool
) -> None:
    fields: dict[str, object] = {"force": force, "datastoreId": DS_A if own_store else DS_B}
    if revert:
        fields["revertToVersionId"] = "3"
    else:
        fields["includeStudyImageSets"] = study
    request = _request(**fields)
    policy = CallerPolicy(name="p", sender_ids=("AIDAP",), datastores=(DS_A,), may=frozenset(granted))
    failure = CallerDirectory([policy]).from_queue("AIDAP").authorize(request)
    allowed = own_store and required_rights(request) <= granted
    assert (failure is None) == allowed
