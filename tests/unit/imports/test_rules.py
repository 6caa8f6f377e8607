from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from updater.imports.levels import AttributeLevel
from updater.imports.rules import (
    MapAction,
    NormalizeAction,
    RuleSet,
    RulesFileInvalid,
    SetAction,
    load_rules,
    main,
    validate_rules_document,
)
from updater.imports.transforms import Transform

DEV_RULES = Path(__file__).resolve().parents[3] / "config" / "import-rules" / "dev.json"


def rules_document(*actions: dict[str, Any], match: dict[str, Any] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": "site-fix", "actions": list(actions)}
    if match is not None:
        rule["match"] = match
    return {"version": 1, "rules": [{"id": "first", "actions": [SET_INSTITUTION]}, rule]}


SET_INSTITUTION = {"type": "set", "keyword": "InstitutionName", "value": "EXAMPLE HOSPITAL"}


def test_the_shipped_dev_rules_load() -> None:
    rule_set = load_rules(DEV_RULES)

    assert rule_set.version == 1
    assert rule_set.environment == "dev"
    assert {rule.id for rule in rule_set.rules} >= {
        "institution-name",
        "patient-name-format",
        "ct-station-names",
    }


def test_actions_load_into_their_typed_forms() -> None:
    document = rules_document(
        SET_INSTITUTION,
        {"type": "normalize", "keyword": "PatientName", "transforms": ["trim", "upper"]},
        {"type": "map", "keyword": "StationName", "table": {"CT01": "CT-ROOM-1"}},
        match={"modalities": ["CT"], "attributes": [{"keyword": "Manufacturer", "regex": "GE.*"}]},
    )

    assert validate_rules_document(document) == []
    rule = RuleSet.model_validate(document).rules[1]
    set_action, normalize, table = rule.actions
    assert isinstance(set_action, SetAction) and set_action.level is AttributeLevel.SERIES
    assert isinstance(normalize, NormalizeAction)
    assert normalize.transforms == [Transform.TRIM, Transform.UPPER]
    assert normalize.level is AttributeLevel.PATIENT
    assert isinstance(table, MapAction) and table.table == {"CT01": "CT-ROOM-1"}
    assert rule.match.modalities == ["CT"]


@pytest.mark.parametrize(
    ("action", "field", "words"),
    [
        ({"type": "set", "keyword": "InstitutionNme", "value": "X"}, "actions[0].keyword", "InstitutionNme"),
        ({"type": "set", "keyword": "StudyInstanceUID", "value": "1.2"}, "actions[0].keyword", "force"),
        ({"type": "set", "keyword": "PixelData", "value": "1"}, "actions[0].keyword", "generated"),
        ({"type": "remove", "keyword": "ImageType"}, "actions[0].keyword", "instance-level"),
        (
            {"type": "set", "keyword": "PatientName", "value": "X", "level": "Study"},
            "actions[0]",
            "Patient-level",
        ),
        ({"type": "set", "keyword": "InstitutionName", "value": ["A", "B"]}, "actions[0].value", ""),
        (
            {"type": "normalize", "keyword": "PatientName", "transforms": ["lower"]},
            "actions[0].transforms[0]",
            "trim",
        ),
        (
            {"type": "normalize", "keyword": "PatientName", "transforms": []},
            "actions[0].transforms",
            "at least 1",
        ),
        ({"type": "map", "keyword": "StationName", "table": {}}, "actions[0].table", "at least 1"),
        ({"type": "rename", "keyword": "StationName"}, "actions[0].type", "rename"),
        ({"type": "set", "keyword": "StationName", "valu": "X"}, "actions[0].valu", "Extra"),
    ],
)
def test_a_bad_action_is_reported_with_rule_id_and_field(
    action: dict[str, Any], field: str, words: str
) -> None:
    problems = validate_rules_document(rules_document(action))

    assert len(problems) >= 1
    assert all(problem.startswith(f"rule 'site-fix' (rules[1]) {field}") for problem in problems), problems
    assert any(words in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("match", "field", "words"),
    [
        ({"attributes": [{"keyword": "Modalty", "equals": "CT"}]}, "match.attributes[0].keyword", "Modalty"),
        (
            {"attributes": [{"keyword": "StationName", "regex": "(CT"}]},
            "match.attributes[0].regex",
            "regular",
        ),
        ({"attributes": [{"keyword": "StationName"}]}, "match.attributes[0]", "exactly one"),
        ({"datastores": ["not-an-id"]}, "match.datastores[0]", "pattern"),
        ({"inputPrefixes": ["bucket/input/"]}, "match.inputPrefixes[0]", "pattern"),
        ({"modality": ["CT"]}, "match.modality", "Extra"),
    ],
)
def test_a_bad_match_is_reported_with_rule_id_and_field(
    match: dict[str, Any], field: str, words: str
) -> None:
    problems = validate_rules_document(rules_document(SET_INSTITUTION, match=match))

    assert len(problems) == 1
    assert problems[0].startswith(f"rule 'site-fix' (rules[1]) {field}: ")
    assert words in problems[0]


def test_every_problem_in_a_file_is_reported_not_just_the_first() -> None:
    document = rules_document(
        {"type": "set", "keyword": "Nonsense", "value": "X"}, {"type": "remove", "keyword": "ImageType"}
    )
    document["rules"].append({"actions": [SET_INSTITUTION]})

    problems = validate_rules_document(document)

    assert [problem.split(":")[0] for problem in problems] == [
        "rule 'site-fix' (rules[1]) actions[0].keyword",
        "rule 'site-fix' (rules[1]) actions[1].keyword",
        "rule without id (rules[2]) id",
    ]


def test_rule_ids_must_be_unique() -> None:
    document = rules_document(SET_INSTITUTION)
    document["rules"][1]["id"] = "first"

    problems = validate_rules_document(document)

    assert problems == ["rules: rule id 'first' is used more than once"]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"version": 2, "rules": []}, "version: unsupported rules file version"),
        ({"rules": []}, "version: Field required"),
        ([], "(document): "),
    ],
)
def test_the_document_itself_is_checked(document: Any, expected: str) -> None:
    problems = validate_rules_document(document)

    assert len(problems) == 1
    assert problems[0].startswith(expected)


def test_load_raises_with_every_problem(tmp_path: Path) -> None:
    document = copy.deepcopy(rules_document({"type": "set", "keyword": "Nonsense", "value": "X"}))
    path = tmp_path / "prod.json"
    path.write_text(json.dumps(document))

    with pytest.raises(RulesFileInvalid) as caught:
        load_rules(path)

    assert caught.value.problems == [
        "rule 'site-fix' (rules[1]) actions[0].keyword: 'Nonsense' is not a standard DICOM keyword"
    ]


def test_load_reports_where_the_json_breaks(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"version": 1,\n "rules": [}')

    with pytest.raises(RulesFileInvalid, match=r"broken.json: not JSON \(line 2, column 12\)"):
        load_rules(path)


def test_the_check_command_passes_good_files_and_fails_bad_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(rules_document({"type": "remove", "keyword": "ImageType"})))

    assert main(["--check", str(DEV_RULES)]) == 0
    assert main(["--check", str(DEV_RULES), str(bad)]) == 1

    output = capsys.readouterr().out
    assert f"{DEV_RULES}: OK (" in output
    assert f"{bad}: INVALID\n  rule 'site-fix' (rules[1]) actions[0].keyword: ImageType" in output
