from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest

from updater.domain.errors import FailureCode
from updater.domain.inbound import REQUEST_DETAIL_TYPE
from updater.domain.outcome import (
    DETAIL_TYPE_FAILED,
    DETAIL_TYPE_SUCCEEDED,
    SOURCE,
    OutcomeStatus,
    UpdateOutcome,
)
from updater.domain.validation.keywords import private_tag_problem
from updater.domain.validation.vr_values import is_valid_uid
from updater.schema_contract import PRIVATE_TAG_PATTERN, UID_MAX_LENGTH, UID_PATTERN
from updater.schemas import (
    DEFAULT_DIRECTORY,
    batch_outcome_schema,
    drifted,
    import_outcome_schema,
    main,
    outcome_schema,
    request_schema,
    write,
)

REQUESTS = Path(__file__).resolve().parents[3] / "events" / "requests"


def test_committed_schemas_match_the_models() -> None:
    assert drifted(DEFAULT_DIRECTORY) == [], "run: PYTHONPATH=lambdas python -m updater.schemas"


def test_check_fails_on_a_changed_or_missing_schema_and_write_repairs_it(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_DIRECTORY, tmp_path, dirs_exist_ok=True)
    (tmp_path / "update-request.schema.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "update-outcome.schema.json").unlink()
    assert main(["--check", "--directory", str(tmp_path)]) == 1
    write(tmp_path)
    assert main(["--check", "--directory", str(tmp_path)]) == 0


@pytest.mark.parametrize("sample", sorted(REQUESTS.glob("*.json")), ids=lambda path: path.name)
def test_every_sample_request_validates_against_the_request_schema(sample: Path) -> None:
    jsonschema.validate(json.loads(sample.read_text(encoding="utf-8")), request_schema())


def test_request_schema_rejects_a_typo_field() -> None:
    body = {"datastoreId": "d" * 32, "imageSetId": "e" * 32, "revertToVersionId": "1", "dryrun": True}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, request_schema())


def test_outcome_schema_accepts_a_serialized_outcome() -> None:
    detail = UpdateOutcome(
        request_id="r",
        datastore_id="d" * 32,
        image_set_id="e" * 32,
        status=OutcomeStatus.SUCCEEDED,
        trigger="local",
    ).model_dump(mode="json", by_alias=True)
    jsonschema.validate(detail, outcome_schema())


EVENTS = REQUESTS.parent
BAD_REQUESTS = REQUESTS / "bad"
# Bad samples whose fault is only visible with the DICOM data dictionary, the document's encoding or
# the force rules: JSON Schema cannot know a keyword, a VR's format or which attributes are generated,
# so these pass the schema by nature and are refused by validation (their code in expected.json).
SEMANTIC_ONLY = {
    "document-not-json.json": "a document sent as text is a string to JSON Schema, its content unseen",
    "generated-attribute.json": "FrameSizeInBytes is keyword-shaped; which attributes are generated is DICOM",
    "instance-private-tag-without-force.json": "the force tier depends on the level and the tag kind",
    "invalid-birth-date.json": "a DA value's calendar check needs the keyword's VR",
    "patient-attribute-at-study-level.json": "which level a keyword belongs to is DICOM knowledge",
    "sop-instance-uid-without-force.json": "which keywords need force is DICOM knowledge",
    "unknown-keyword.json": "PatientNickname is keyword-shaped; only the dictionary knows it is none",
}


def bad_samples() -> list[Path]:
    return sorted(path for path in BAD_REQUESTS.glob("*.json") if path.name != "expected.json")


def schema_errors(document: object, schema: dict[str, object]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [error.message for error in validator.iter_errors(document)]


def test_the_generated_schemas_are_valid_json_schemas() -> None:
    for schema in (request_schema(), outcome_schema(), import_outcome_schema()):
        jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("sample", bad_samples(), ids=lambda path: path.name)
def test_a_bad_sample_fails_the_schema_unless_its_fault_is_semantic(sample: Path) -> None:
    errors = schema_errors(json.loads(sample.read_text(encoding="utf-8")), request_schema())
    if sample.name in SEMANTIC_ONLY:
        assert errors == [], f"{sample.name} is listed as semantic only, yet the schema refuses it"
    else:
        assert errors, f"{sample.name} breaks a structural rule the schema should carry"


def test_the_semantic_only_list_names_existing_samples() -> None:
    assert set(SEMANTIC_ONLY) <= {path.name for path in bad_samples()}
    assert set(json.loads((BAD_REQUESTS / "expected.json").read_text())) == {p.name for p in bad_samples()}


def base_request(**fields: object) -> dict[str, object]:
    return {"datastoreId": "d" * 32, "imageSetId": "e" * 32, **fields}


def patient_update(document: dict[str, object]) -> dict[str, object]:
    return base_request(DICOMUpdates={"updatableAttributes": {"SchemaVersion": 1.1, **document}})


@pytest.mark.parametrize(
    ("rule", "request_body"),
    [
        ("no update kind", base_request()),
        ("empty DICOMUpdates", base_request(DICOMUpdates={})),
        ("null documents only", base_request(DICOMUpdates={"updatableAttributes": None})),
        ("Series key not a UID", patient_update({"Study": {"Series": {"1.02": {}}}})),
        ("Instances key not a UID", patient_update({"Study": {"Series": {"1.2": {"Instances": {"x": {}}}}}})),
        ("unknown level key", patient_update({"Patient": {"Series": {}}})),
        ("even-group tag", patient_update({"Patient": {"DICOM": {"00100010": "X"}}})),
        ("reserved odd group", patient_update({"Patient": {"DICOM": {"00031001": "X"}}})),
        ("VR not a VR", patient_update({"Patient": {"DICOMVRs": {"00091001": "XX"}}})),
        ("DICOMVRs for a keyword", patient_update({"Patient": {"DICOMVRs": {"PatientName": "PN"}}})),
        (
            "unsupported SchemaVersion",
            base_request(DICOMUpdates={"updatableAttributes": {"SchemaVersion": 2}}),
        ),
        ("requestId with a space", base_request(requestId="a b", revertToVersionId="1")),
        (
            "CLI shape with both kinds",
            {
                **base_request(),
                "updateImageSetMetadataUpdates": {
                    "revertToVersionId": "1",
                    "DICOMUpdates": {"updatableAttributes": "{}"},
                },
            },
        ),
        (
            "CLI shape reverting with includeStudyImageSets",
            {
                **base_request(),
                "includeStudyImageSets": True,
                "updateImageSetMetadataUpdates": {"revertToVersionId": "1"},
            },
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_the_schema_carries_each_structural_rule(rule: str, request_body: dict[str, object]) -> None:
    assert schema_errors(request_body, request_schema()), rule


def test_a_null_member_counts_as_absent_as_the_model_reads_it() -> None:
    assert schema_errors(base_request(revertToVersionId="1", DICOMUpdates=None), request_schema()) == []
    assert (
        schema_errors(
            patient_update({"Patient": {"DICOM": {"PatientName": "X"}}}) | {"revertToVersionId": None},
            request_schema(),
        )
        == []
    )


def test_private_tag_and_uid_patterns_agree_with_validation() -> None:
    tag = re.compile(PRIVATE_TAG_PATTERN)
    for group in range(0x10000):
        for key in (f"{group:04X}1001", f"{group:04x}10ab"):
            assert bool(tag.match(key)) == (private_tag_problem(key) is None), key
    uid = re.compile(UID_PATTERN)
    for text in ("1.2.840.10008", "0.1", "1.02", "1..2", ".1", "1.", "1.2a", "1" * 64, "1" * 65):
        assert (bool(uid.match(text)) and len(text) <= UID_MAX_LENGTH) == is_valid_uid(text), text


def sample_files(folder: str) -> list[Path]:
    return sorted((EVENTS / folder).glob("*.json"))


@pytest.mark.parametrize("sample", sample_files("outcomes"), ids=lambda path: path.name)
def test_every_outcome_sample_matches_its_schema(sample: Path) -> None:
    event = json.loads(sample.read_text(encoding="utf-8"))
    assert event["source"] == SOURCE
    if event["detail-type"] in (DETAIL_TYPE_SUCCEEDED, DETAIL_TYPE_FAILED):
        assert schema_errors(event["detail"], outcome_schema()) == []
        assert UpdateOutcome.model_validate(event["detail"]).detail_type() == event["detail-type"]
    elif event["detail-type"].startswith("ImageSetMetadataUpdate.Batch"):  # a parent's aggregate outcome
        assert schema_errors(event["detail"], batch_outcome_schema()) == []
    else:
        definition = {
            "ImportJob.Reacted": "ImportSummary",
            "ImportJob.ReactionFailed": "ImportReactionFailed",
        }
        schema = import_outcome_schema()
        specific = {**schema, "anyOf": [{"$ref": f"#/$defs/{definition[event['detail-type']]}"}]}
        assert schema_errors(event["detail"], specific) == []


def test_the_outcome_schema_wants_an_error_code_exactly_when_failed() -> None:
    detail = json.loads((EVENTS / "outcomes" / "update-failed.json").read_text())["detail"]
    assert schema_errors({**detail, "errorCode": None}, outcome_schema())
    succeeded = json.loads((EVENTS / "outcomes" / "update-succeeded.json").read_text())["detail"]
    assert schema_errors({**succeeded, "errorCode": "UPDATE_FAILED"}, outcome_schema())


def test_every_incoming_sample_carries_a_request_the_schema_accepts() -> None:
    bridge = json.loads((EVENTS / "eventbridge" / "update-requested.json").read_text())
    assert bridge["detail-type"] == REQUEST_DETAIL_TYPE
    assert schema_errors(bridge["detail"], request_schema()) == []
    (record,) = json.loads((EVENTS / "sqs" / "update-request.json").read_text())["Records"]
    assert schema_errors(json.loads(record["body"]), request_schema()) == []
    failure_record = json.loads((EVENTS / "failures" / "failure-record.json").read_text())
    assert schema_errors(json.loads(failure_record["Body"]), request_schema()) == []
    assert failure_record["MessageAttributes"]["failureCode"]["StringValue"] in set(FailureCode)
