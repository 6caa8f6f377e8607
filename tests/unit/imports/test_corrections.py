from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.imports.documents import (
    DATASTORE_ID,
    IMAGE_SET_ID,
    JOB_ID,
    OTHER_IMAGE_SET_ID,
    SERIES_UID,
    SOP_UID,
    STUDY_UID,
    job,
    metadata_document,
)
from updater.imports.corrections import (
    CorrectionsFile,
    RejectedCorrectionsFile,
    is_corrections_file,
    parse_corrections,
)
from updater.imports.planner import import_request_id, plan_import_updates
from updater.imports.rules import RuleSet

NO_RULES = RuleSet.model_validate({"version": 1, "rules": []})


def corrections(**sections: Any) -> CorrectionsFile:
    parsed = parse_corrections("input/site-a/corrections.json", json.dumps({"version": 1, **sections}))
    assert isinstance(parsed, CorrectionsFile), parsed
    return parsed


def plan(file: CorrectionsFile, *documents: dict[str, Any]) -> list[dict[str, Any]]:
    by_id = {document["ImageSetID"]: document for document in documents}
    result = plan_import_updates(
        job(),
        list(by_id),
        fetch_metadata=lambda _, image_set_id: by_id[image_set_id],
        rules=NO_RULES,
        corrections=[file],
    )
    return result.requests


def test_a_study_entry_routes_each_keyword_to_its_level() -> None:
    file = corrections(
        studies={
            STUDY_UID: {
                "set": {"PatientName": "DOE^JANE", "StudyDescription": "CHEST CT", "StationName": "CT-1"}
            }
        }
    )

    [request] = plan(file, metadata_document())

    assert request["requestId"] == import_request_id(
        JOB_ID, IMAGE_SET_ID, "corrections:input/site-a/corrections.json"
    )
    assert request["datastoreId"] == DATASTORE_ID
    assert request["DICOMUpdates"]["updatableAttributes"] == {
        "SchemaVersion": 1.1,
        "Patient": {"DICOM": {"PatientName": "DOE^JANE"}},
        "Study": {
            "DICOM": {"StudyDescription": "CHEST CT"},
            "Series": {SERIES_UID: {"DICOM": {"StationName": "CT-1"}}},
        },
    }


def test_series_and_instance_entries_touch_only_their_own_series_and_instance() -> None:
    other_series = "1.2.826.0.1.3680043.2.1125.1"
    file = corrections(
        series={
            other_series: {"set": {"StationName": "ELSEWHERE"}},
            SERIES_UID: {"set": {"BodyPartExamined": "CHEST"}},
        },
        instances={SOP_UID: {"set": {"ImageComments": "rescanned"}}},
    )
    documents = [
        metadata_document(),
        metadata_document(image_set_id=OTHER_IMAGE_SET_ID, series_uid=other_series, sop_uid="1.2.3.4"),
    ]

    first, second = plan(file, *documents)

    assert first["DICOMUpdates"]["updatableAttributes"]["Study"] == {
        "Series": {
            SERIES_UID: {
                "DICOM": {"BodyPartExamined": "CHEST"},
                "Instances": {SOP_UID: {"DICOM": {"ImageComments": "rescanned"}}},
            }
        }
    }
    assert second["imageSetId"] == OTHER_IMAGE_SET_ID
    assert second["DICOMUpdates"]["updatableAttributes"]["Study"] == {
        "Series": {other_series: {"DICOM": {"StationName": "ELSEWHERE"}}}
    }


def test_the_more_specific_entry_wins() -> None:
    file = corrections(
        studies={STUDY_UID: {"set": {"StationName": "FROM-STUDY"}, "remove": ["PatientComments"]}},
        series={SERIES_UID: {"set": {"StationName": "FROM-SERIES", "PatientComments": "kept"}}},
    )

    [request] = plan(file, metadata_document(patient={"PatientComments": "old"}))

    updates = request["DICOMUpdates"]
    assert "removableAttributes" not in updates
    assert updates["updatableAttributes"]["Patient"] == {"DICOM": {"PatientComments": "kept"}}
    assert updates["updatableAttributes"]["Study"]["Series"][SERIES_UID]["DICOM"] == {
        "StationName": "FROM-SERIES"
    }


def test_a_file_naming_other_studies_plans_nothing() -> None:
    file = corrections(studies={"1.2.3": {"set": {"PatientName": "X"}}})

    assert plan(file, metadata_document()) == []


def test_removals_carry_the_current_value() -> None:
    file = corrections(studies={STUDY_UID: {"remove": ["PatientComments"]}})

    [request] = plan(file, metadata_document(patient={"PatientComments": "old note"}))

    assert request["DICOMUpdates"]["removableAttributes"] == {
        "SchemaVersion": 1.1,
        "Patient": {"DICOM": {"PatientComments": "old note"}},
    }


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"version": 1, "studies": {STUDY_UID: {"set": {"ImageComments": "x"}}}},
            "studies.entry 1.set: ImageComments is stored at the Instance level",
        ),
        (
            {"version": 1, "instances": {"9.9": {"set": {"PatientName": "DOE^JOHN"}}}},
            "instances.entry 1.set: PatientName is stored at the Patient level",
        ),
        (
            {"version": 1, "series": {"1.2": {}, SERIES_UID: {"remove": ["SeriesInstanceUID"]}}},
            "series.entry 2.remove: SeriesInstanceUID can only be changed with force",
        ),
        (
            {"version": 1, "series": {SERIES_UID: {"set": {"StationName": ["A", "B"]}}}},
            "series.entry 1.set.StationName",
        ),
        ({"version": 1, "patients": {}}, "patients: Extra inputs are not permitted"),
        ({"studies": {}}, "version: Field required"),
    ],
)
def test_a_bad_corrections_file_is_rejected_naming_fields_but_no_values_or_uids(
    document: dict[str, Any], expected: str
) -> None:
    result = parse_corrections("corrections.json", json.dumps(document))

    assert isinstance(result, RejectedCorrectionsFile)
    assert result.problems[0].startswith(expected), result.problems
    text = " ".join(result.problems)
    assert "DOE^JOHN" not in text and SERIES_UID not in text and STUDY_UID not in text


def test_a_corrections_file_that_is_not_json_is_rejected() -> None:
    assert parse_corrections("x-corrections.json", b"\xff{") == RejectedCorrectionsFile(
        "x-corrections.json", ["not JSON"]
    )


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("input/corrections.json", True),
        ("input/site-a-corrections.json", True),
        ("input/corrections.json.bak", False),
        ("input/image.dcm", False),
    ],
)
def test_sidecar_names(key: str, expected: bool) -> None:
    assert is_corrections_file(key) is expected
