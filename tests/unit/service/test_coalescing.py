"""Coalescing merges what can share one update call, and nothing else."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from updater.domain.coalescing import coalesce
from updater.domain.request import UpdateRequest, parse_update_request

DS = "a" * 32
IS1, IS2 = "b" * 32, "c" * 32


def req(image_set: str = IS1, *, patient: dict[str, Any] | None = None, study: dict[str, Any] | None = None,
        remove_study: dict[str, Any] | None = None, **extra: Any) -> UpdateRequest:  # fmt: skip
    updates: dict[str, Any] = {}
    if patient or study:
        doc: dict[str, Any] = {"SchemaVersion": 1.1}
        if patient:
            doc["Patient"] = {"DICOM": patient}
        if study:
            doc["Study"] = {"DICOM": study}
        updates["updatableAttributes"] = doc
    if remove_study:
        updates["removableAttributes"] = {"SchemaVersion": 1.1, "Study": {"DICOM": remove_study}}
    return parse_update_request(
        {"datastoreId": DS, "imageSetId": image_set, "DICOMUpdates": updates, **extra}
    )


def test_compatible_requests_for_one_image_set_become_one_call() -> None:
    a = req(patient={"PatientName": "A^B"})
    b = req(study={"StudyDescription": "CHEST"})
    c = req(IS2, patient={"PatientName": "C^D"})
    groups = coalesce([a, b, c], ordered=False, payload_limit=10_240)
    assert [g.members for g in groups] == [(a, b), (c,)]
    merged = groups[0].merged.dicom_updates
    assert merged is not None and merged.updatable_attributes == {
        "SchemaVersion": 1.1,
        "Patient": {"DICOM": {"PatientName": "A^B"}},
        "Study": {"DICOM": {"StudyDescription": "CHEST"}},
    }
    assert groups[0].merged.request_id.startswith("coalesced-")
    assert groups[1].merged is c


def test_conflicting_values_stay_apart_on_a_standard_queue() -> None:
    a, b = req(patient={"PatientName": "A^B"}), req(patient={"PatientName": "X^Y"})
    groups = coalesce([a, b], ordered=False, payload_limit=10_240)
    assert [g.members for g in groups] == [(a,), (b,)]


def test_later_request_wins_in_a_fifo_group() -> None:
    a, b = req(patient={"PatientName": "A^B"}), req(patient={"PatientName": "X^Y"})
    (group,) = coalesce([a, b], ordered=True, payload_limit=10_240)
    assert group.members == (a, b)
    assert group.merged.dicom_updates is not None
    assert group.merged.dicom_updates.updatable_attributes == {
        "SchemaVersion": 1.1,
        "Patient": {"DICOM": {"PatientName": "X^Y"}},
    }


def test_reverts_pins_dry_runs_and_different_force_are_never_merged() -> None:
    plain = req(patient={"PatientName": "A^B"})
    revert = parse_update_request({"datastoreId": DS, "imageSetId": IS1, "revertToVersionId": "1"})
    pinned = req(study={"StudyID": "1"}, expectedVersionId="3")
    dry = req(study={"StudyDescription": "X"}, dryRun=True)
    forced = req(study={"AccessionNumber": "9"}, force=True)
    groups = coalesce([plain, revert, pinned, dry, forced], ordered=True, payload_limit=10_240)
    assert all(not g.coalesced for g in groups)
    assert sorted(m.request_id for g in groups for m in g.members) == sorted(
        r.request_id for r in (plain, revert, pinned, dry, forced)
    )


def test_an_attribute_updated_and_removed_is_not_merged() -> None:
    a = req(study={"StudyDescription": "NEW"})
    b = req(remove_study={"StudyDescription": "OLD"})
    assert len(coalesce([a, b], ordered=True, payload_limit=10_240)) == 2


def test_merge_past_the_payload_limit_is_split() -> None:
    a = req(patient={"PatientComments": "x" * 60})
    b = req(study={"StudyDescription": "y" * 60})
    limit = len(b"{}") + 120  # each fits alone, both together do not
    groups = coalesce([a, b], ordered=False, payload_limit=limit)
    assert [len(g.members) for g in groups] == [1, 1]


names = st.sampled_from(["PatientName", "PatientComments", "EthnicGroup"])
values = st.sampled_from(["A^B", "C^D", "E"])


@given(
    st.lists(st.tuples(st.sampled_from([IS1, IS2]), names, values), min_size=1, max_size=12), st.booleans()
)
def test_every_request_lands_in_exactly_one_group_and_merges_keep_its_values(
    items: list[tuple[str, str, str]], ordered: bool
) -> None:
    requests = [
        req(image_set, patient={name: value}, requestId=f"r{i}")
        for i, (image_set, name, value) in enumerate(items)
    ]
    groups = coalesce(requests, ordered=ordered, payload_limit=10_240)
    members = [m.request_id for g in groups for m in g.members]
    assert sorted(members) == sorted(r.request_id for r in requests)
    for group in groups:
        assert len({m.image_set_id for m in group.members}) == 1
        merged = group.merged.dicom_updates
        assert merged is not None and merged.updatable_attributes is not None
        patient = merged.updatable_attributes["Patient"]["DICOM"]
        last_value: dict[str, str] = {}
        for member in group.members:
            assert member.dicom_updates is not None and member.dicom_updates.updatable_attributes is not None
            last_value.update(member.dicom_updates.updatable_attributes["Patient"]["DICOM"])
        assert patient == last_value  # FIFO: later wins; standard: no conflicting values were merged
