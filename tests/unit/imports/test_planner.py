from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from tests.unit.imports.documents import (
    DATASTORE_ID,
    IMAGE_SET_ID,
    JOB_ID,
    OTHER_IMAGE_SET_ID,
    SERIES_UID,
    applied,
    job,
    metadata_document,
)
from updater.domain.request import parse_update_request
from updater.imports.planner import ImportPlan, import_request_id, plan_import_updates
from updater.imports.rules import RuleSet


def rules(*rule_list: dict[str, Any]) -> RuleSet:
    return RuleSet.model_validate({"version": 1, "rules": list(rule_list)})


def rule(rule_id: str, *actions: dict[str, Any], **match: Any) -> dict[str, Any]:
    return {"id": rule_id, "match": match, "actions": list(actions)}


def plan(documents: Mapping[str, dict[str, Any]], rule_set: RuleSet, **kwargs: Any) -> ImportPlan:
    def fetch(datastore_id: str, image_set_id: str) -> dict[str, Any]:
        assert datastore_id == DATASTORE_ID
        return documents[image_set_id]

    return plan_import_updates(
        kwargs.pop("job", job()), list(documents), fetch_metadata=fetch, rules=rule_set, **kwargs
    )


def series_dicom(update: dict[str, Any], series_uid: str = SERIES_UID) -> dict[str, Any]:
    return dict(update["Study"]["Series"][series_uid]["DICOM"])


INSTITUTION = rule("institution", {"type": "set", "keyword": "InstitutionName", "value": "EXAMPLE HOSPITAL"})


def test_a_set_rule_yields_one_native_update_request_at_the_attribute_level() -> None:
    result = plan({IMAGE_SET_ID: metadata_document()}, rules(INSTITUTION))

    assert result.image_sets_seen == 1
    assert result.skipped == 0
    [request] = result.requests
    assert request == {
        "datastoreId": DATASTORE_ID,
        "imageSetId": IMAGE_SET_ID,
        "requestId": import_request_id(JOB_ID, IMAGE_SET_ID, "rule:institution"),
        "DICOMUpdates": {
            "updatableAttributes": {
                "SchemaVersion": 1.1,
                "Study": {"Series": {SERIES_UID: {"DICOM": {"InstitutionName": "EXAMPLE HOSPITAL"}}}},
            }
        },
    }
    assert result.updates[0].changed_keywords == ["InstitutionName"]


def test_request_ids_are_deterministic_and_distinct_per_job_image_set_and_source() -> None:
    first = import_request_id(JOB_ID, IMAGE_SET_ID, "rule:institution")

    assert first == import_request_id(JOB_ID, IMAGE_SET_ID, "rule:institution")
    others = {
        import_request_id("f" * 32, IMAGE_SET_ID, "rule:institution"),
        import_request_id(JOB_ID, OTHER_IMAGE_SET_ID, "rule:institution"),
        import_request_id(JOB_ID, IMAGE_SET_ID, "rule:other"),
    }
    assert first not in others and len(others) == 3


def test_already_correct_values_need_no_request_and_count_as_skipped() -> None:
    document = metadata_document(series={"InstitutionName": "EXAMPLE HOSPITAL "})  # DICOM padding

    result = plan({IMAGE_SET_ID: document}, rules(INSTITUTION))

    assert result.requests == []
    assert result.skipped == 1


def test_normalizations_change_only_what_is_not_normal_yet() -> None:
    document = metadata_document(
        patient={"PatientName": " doe ^jane ", "PatientBirthDate": "1970-05-01"},
        study={"StudyDate": "20040119"},
    )
    normalize = rule(
        "normalize",
        {"type": "normalize", "keyword": "PatientName", "transforms": ["trim", "upper"]},
        {"type": "normalize", "keyword": "PatientBirthDate", "transforms": ["dicom-date"]},
        {"type": "normalize", "keyword": "StudyDate", "transforms": ["dicom-date"]},
        {"type": "normalize", "keyword": "PatientComments", "transforms": ["trim"]},  # absent: untouched
    )

    [request] = plan({IMAGE_SET_ID: document}, rules(normalize)).requests

    assert request["DICOMUpdates"]["updatableAttributes"] == {
        "SchemaVersion": 1.1,
        "Patient": {"DICOM": {"PatientName": "DOE^JANE", "PatientBirthDate": "19700501"}},
    }


def test_map_rewrites_listed_values_and_leaves_others() -> None:
    mapping = rule("stations", {"type": "map", "keyword": "StationName", "table": {"CT01_OC0": "CT-ROOM-1"}})
    documents = {
        IMAGE_SET_ID: metadata_document(),
        OTHER_IMAGE_SET_ID: metadata_document(image_set_id=OTHER_IMAGE_SET_ID, series={"StationName": "MR7"}),
    }

    result = plan(documents, rules(mapping))

    [request] = result.requests
    assert request["imageSetId"] == IMAGE_SET_ID
    assert series_dicom(request["DICOMUpdates"]["updatableAttributes"]) == {"StationName": "CT-ROOM-1"}
    assert result.skipped == 1


def test_remove_sends_the_current_value_and_skips_absent_or_empty_attributes() -> None:
    removal = rule(
        "drop",
        {"type": "remove", "keyword": "PatientComments"},
        {"type": "remove", "keyword": "PatientBirthDate"},  # null in the document
        {"type": "remove", "keyword": "Allergies"},  # absent
    )
    document = metadata_document(patient={"PatientComments": "call before visit"})

    [request] = plan({IMAGE_SET_ID: document}, rules(removal)).requests

    assert request["DICOMUpdates"] == {
        "removableAttributes": {
            "SchemaVersion": 1.1,
            "Patient": {"DICOM": {"PatientComments": "call before visit"}},
        }
    }


@pytest.mark.parametrize(
    ("match", "matches"),
    [
        ({"datastores": [DATASTORE_ID]}, True),
        ({"datastores": ["0" * 32]}, False),
        ({"inputPrefixes": ["s3://healthimaging-test-bucket/input/"]}, True),
        ({"inputPrefixes": ["s3://healthimaging-test-bucket/input/site-b/"]}, False),
        ({"modalities": ["MR", "CT"]}, True),
        ({"modalities": ["MR"]}, False),
        ({"attributes": [{"keyword": "Manufacturer", "equals": "GE MEDICAL SYSTEMS"}]}, True),
        ({"attributes": [{"keyword": "Manufacturer", "regex": "GE .*"}]}, True),
        ({"attributes": [{"keyword": "Manufacturer", "regex": "GE"}]}, False),  # full match, not search
        ({"attributes": [{"keyword": "PatientID", "equals": "1CT1"}]}, True),
        ({"attributes": [{"keyword": "ImageType", "equals": "ORIGINAL\\PRIMARY\\AXIAL"}]}, True),
        ({"attributes": [{"keyword": "PatientComments", "regex": ".*"}]}, False),  # absent
        ({"modalities": ["CT"], "attributes": [{"keyword": "PatientID", "equals": "other"}]}, False),
    ],
)
def test_rules_match_on_datastore_input_prefix_modality_and_attributes(
    match: dict[str, Any], matches: bool
) -> None:
    conditional = rule("conditional", {"type": "set", "keyword": "InstitutionName", "value": "X"}, **match)

    result = plan({IMAGE_SET_ID: metadata_document()}, rules(conditional))

    assert len(result.requests) == (1 if matches else 0)


def test_disabled_rules_do_nothing() -> None:
    disabled = {**INSTITUTION, "enabled": False}

    result = plan({IMAGE_SET_ID: metadata_document()}, rules(disabled))

    assert (result.requests, result.skipped) == ([], 0)


def test_each_rule_is_its_own_request() -> None:
    trim = rule("names", {"type": "normalize", "keyword": "PatientName", "transforms": ["upper"]})
    document = metadata_document(patient={"PatientName": "doe^jane"})

    result = plan({IMAGE_SET_ID: document}, rules(INSTITUTION, trim))

    assert [update.source_id for update in result.updates] == ["rule:institution", "rule:names"]
    assert len({request["requestId"] for request in result.requests}) == 2


def test_planned_requests_are_accepted_by_the_request_contract() -> None:
    removal = rule("drop", {"type": "remove", "keyword": "PatientComments"}, INSTITUTION["actions"][0])
    document = metadata_document(patient={"PatientComments": "note"})

    [request] = plan({IMAGE_SET_ID: document}, rules(removal)).requests
    parsed = parse_update_request(request)

    assert parsed.request_id == request["requestId"]
    assert parsed.dicom_updates is not None
    assert set(parsed.dicom_updates.documents()) == {"updatableAttributes", "removableAttributes"}


def test_replaying_after_the_updates_landed_plans_nothing() -> None:
    rule_set = rules(
        INSTITUTION,
        rule("names", {"type": "normalize", "keyword": "PatientName", "transforms": ["trim", "upper"]}),
        rule("stations", {"type": "map", "keyword": "StationName", "table": {"CT01_OC0": "CT-ROOM-1"}}),
        rule("drop", {"type": "remove", "keyword": "PatientComments"}),
    )
    document = metadata_document(patient={"PatientName": "doe^ jane", "PatientComments": "note"})

    first = plan({IMAGE_SET_ID: document}, rule_set)
    for request in first.requests:
        document = applied(document, request["DICOMUpdates"])
    replay = plan({IMAGE_SET_ID: document}, rule_set)

    assert len(first.requests) == 4
    assert replay.requests == []
    assert replay.skipped == 4


def test_without_rules_or_corrections_no_metadata_is_fetched() -> None:
    def fetch(datastore_id: str, image_set_id: str) -> dict[str, Any]:
        raise AssertionError("nothing can apply: no metadata needed")

    result = plan_import_updates(
        job(),
        [IMAGE_SET_ID, OTHER_IMAGE_SET_ID],
        fetch_metadata=fetch,
        rules=rules({**INSTITUTION, "enabled": False}),
    )

    assert (result.image_sets_seen, result.requests) == (2, [])
