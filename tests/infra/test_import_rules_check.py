"""Synthesis refuses a stage whose import rules file is missing or invalid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.config import REPO_ROOT, ConfigError, load_stage_config
from infra.import_rules import check_import_rules_file


def test_the_shipped_dev_rules_file_is_valid() -> None:
    rules_file = load_stage_config("dev").import_rules_path(REPO_ROOT)
    assert rules_file is not None

    check_import_rules_file("dev", rules_file)


def test_missing_rules_file_names_the_stage_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"stages\.prod\.importRulesFile: .*missing\.json does not exist"):
        check_import_rules_file("prod", tmp_path / "missing.json")


def test_invalid_rules_file_names_the_rule_and_field(tmp_path: Path) -> None:
    rules_file = tmp_path / "bad.json"
    rules_file.write_text(
        json.dumps(
            {
                "version": 1,
                "rules": [{"id": "broken-rule", "actions": [{"type": "set", "keyword": "NotAKeyword"}]}],
            }
        )
    )

    with pytest.raises(ConfigError) as error:
        check_import_rules_file("dev", rules_file)

    message = str(error.value)
    assert message.startswith(f"stages.dev.importRulesFile {rules_file} is invalid:")
    assert "'broken-rule'" in message
    assert "actions[0]" in message
