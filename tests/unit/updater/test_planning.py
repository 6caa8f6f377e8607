from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.updater.factories import (
    OTHER_SOP_UID,
    SERIES_UID,
    SOP_UID,
    instance_doc,
    metadata_document,
    patient_doc,
    series_doc,
    study_doc,
    update_request,
)
from updater.domain.errors import FailureCode
from updater.domain.planning import UpdatePlan, plan_revert, plan_update, values_equal

INSTANCE_KEY = f"Instance/{SERIES_UID}/{SOP_UID}"
SERIES_KEY = f"Series/{SERIES_UID}"
MISSING_UID = "1.2.3.4.5.6.7"


def plan(updatable: Any = None, removable: Any = None, **fields: Any) -> UpdatePlan:
    return plan_update(update_request(updatable, removable, **fields), metadata_document())


def test_requested_values_already_present_make_a_noop() -> None:
    result = plan(patient_doc(PatientName="MISTER^CT", PatientSex="M"))
    assert result == UpdatePlan(noop=True)


def test_padding_null_and_numeric_strings_compare_dicom_wise() -> None:
    result = plan(
        study_doc(StudyID=""),
        removable=series_doc({"DICOM": {"SeriesNumber": 7}}),
    )
    assert result.changed == {}
    assert [f.code for f in result.failures] == [FailureCode.REMOVABLE_VALUE_MISMATCH]
    assert plan(series_doc({"DICOM": {"SeriesNumber": "1"}})).noop
    assert plan(series_doc({"DICOM": {"SeriesNumber": 1}})).noop


def test_changed_names_are_listed_per_level_key() -> None:
    result = plan(
        {
            "SchemaVersion": 1.1,
            "Patient": {"DICOM": {"PatientName": "NEW^NAME", "PatientSex": "M"}},
            "Study": {
                "DICOM": {"StudyDescription": "CHEST CT"},
                "Series": {
                    SERIES_UID: {
                        "DICOM": {"SeriesDescription": "AXIAL"},
                        "Instances": {SOP_UID: {"DICOM": {"ImageComments": "new"}}},
                    }
                },
            },
        }
    )
    assert not result.noop
    assert result.changed == {
        "Patient": ["PatientName"],
        "Study": ["StudyDescription"],
        SERIES_KEY: ["SeriesDescription"],
        INSTANCE_KEY: ["ImageComments"],
    }
    assert result.removed == {} and result.failures == ()


def test_removal_with_the_stored_value_is_planned_and_absent_attributes_are_already_done() -> None:
    result = plan(removable=study_doc(StudyDescription="CHEST", AccessionNumber="A1"))
    assert result.removed == {"Study": ["StudyDescription"]}
    assert not result.noop


def test_removal_of_an_attribute_already_gone_is_a_noop() -> None:
    assert plan(removable=study_doc(AccessionNumber="A1")).noop


def test_removal_with_a_different_value_is_a_mismatch_failure() -> None:
    result = plan(removable=study_doc(StudyDescription="HEAD"))
    assert [(f.code, f.field) for f in result.failures] == [
        (
            FailureCode.REMOVABLE_VALUE_MISMATCH,
            "DICOMUpdates.removableAttributes.Study.DICOM.StudyDescription",
        )
    ]
    assert not result.noop


def test_removing_a_whole_instance_or_series_lists_it_under_its_parent() -> None:
    removable = {"SchemaVersion": 1.1, "Study": {"Series": {SERIES_UID: {"Instances": {OTHER_SOP_UID: {}}}}}}
    assert plan(removable=removable).removed == {SERIES_KEY: [f"Instance {OTHER_SOP_UID}"]}
    assert plan(removable=series_doc({})).removed == {"Study": [f"Series {SERIES_UID}"]}


def test_removing_an_instance_that_is_already_gone_is_a_noop() -> None:
    removable = {"SchemaVersion": 1.1, "Study": {"Series": {SERIES_UID: {"Instances": {MISSING_UID: {}}}}}}
    assert plan(removable=removable).noop


def test_updating_a_series_the_image_set_lacks_fails() -> None:
    result = plan(series_doc({"DICOM": {"SeriesDescription": "AXIAL"}}, MISSING_UID))
    assert [(f.code, f.field) for f in result.failures] == [
        (FailureCode.SERIES_NOT_IN_IMAGE_SET, f"DICOMUpdates.updatableAttributes.Study.Series.{MISSING_UID}")
    ]
    assert not result.noop and result.changed == {}


def test_updating_an_instance_the_image_set_lacks_fails_once() -> None:
    result = plan(instance_doc({"DICOM": {"ImageComments": "x"}}, sop_uid=MISSING_UID))
    assert [f.code for f in result.failures] == [FailureCode.INSTANCE_NOT_IN_IMAGE_SET]


def test_instance_under_a_missing_series_reports_only_the_series() -> None:
    result = plan(instance_doc({"DICOM": {"ImageComments": "x"}}, series_uid=MISSING_UID))
    assert [f.code for f in result.failures] == [FailureCode.SERIES_NOT_IN_IMAGE_SET]


def test_adding_a_private_tag_without_a_vr_fails_but_updating_an_existing_one_does_not() -> None:
    added = plan(instance_doc({"DICOM": {"001910F9": "97"}}), force=True)
    assert [f.code for f in added.failures] == [FailureCode.PRIVATE_TAG_VR_MISSING]
    with_vr = plan(instance_doc({"DICOM": {"001910F9": "97"}, "DICOMVRs": {"001910F9": "DS"}}), force=True)
    assert with_vr.failures == () and with_vr.changed == {INSTANCE_KEY: ["001910F9"]}
    updated = plan(instance_doc({"DICOM": {"00091001": "GE_OTHER"}}), force=True)
    assert updated.failures == () and updated.changed == {INSTANCE_KEY: ["00091001"]}


def test_a_changed_private_vr_counts_as_a_change() -> None:
    result = plan(
        instance_doc({"DICOM": {"00091001": "GE_GENESIS_DD"}, "DICOMVRs": {"00091001": "SH"}}), force=True
    )
    assert result.changed == {INSTANCE_KEY: ["00091001"]}


def test_plan_update_refuses_a_revert_request() -> None:
    with pytest.raises(ValueError, match="plan_revert"):
        plan_update(update_request(revertToVersionId="1"), metadata_document())


def test_revert_to_an_identical_document_is_a_noop() -> None:
    assert plan_revert(metadata_document(), metadata_document()).noop


def test_revert_lists_changed_added_and_removed_names() -> None:
    current = metadata_document()
    target = copy.deepcopy(current)
    target["Patient"]["DICOM"]["PatientName"] = "OLD^NAME"
    target["Study"]["DICOM"]["AccessionNumber"] = "A1"
    del target["Study"]["DICOM"]["StudyDescription"]
    del target["Study"]["Series"][SERIES_UID]["Instances"][OTHER_SOP_UID]
    result = plan_revert(current, target)
    assert result.changed == {"Patient": ["PatientName"], "Study": ["AccessionNumber"]}
    assert result.removed == {"Study": ["StudyDescription"], SERIES_KEY: [f"Instance {OTHER_SOP_UID}"]}


def test_revert_restoring_an_instance_lists_it_as_changed() -> None:
    target = metadata_document()
    current = copy.deepcopy(target)
    del current["Study"]["Series"][SERIES_UID]["Instances"][OTHER_SOP_UID]
    assert plan_revert(current, target).changed == {SERIES_KEY: [f"Instance {OTHER_SOP_UID}"]}


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        ("1 ", "1", True),
        ("", None, True),
        ("1", 1, True),
        ("1.50", 1.5, True),
        ("abc", 1, False),
        (True, 1, False),
        (["A ", "B"], ["A", "B"], True),
        (["A"], ["A", "B"], False),
        ({"CodeValue": "1 "}, {"CodeValue": "1"}, True),
        (1, 2, False),
    ],
)
def test_values_equal(left: Any, right: Any, equal: bool) -> None:
    assert values_equal(left, right) is equal
    assert values_equal(right, left) is equal
