from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from updater.domain.outcome import OutcomeStatus, UpdateOutcome
from updater.schemas import DEFAULT_DIRECTORY, drifted, main, outcome_schema, request_schema, write

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
