"""Synth-time check of a stage's import rules file, with the Lambda's own validator.

A bad rules file must stop `cdk synth`, not surface as failed imports after deployment; using the
same `updater.imports.rules.load_rules` the function runs at load keeps the two checks identical.
"""

from __future__ import annotations

from pathlib import Path

from infra.config import ConfigError


def check_import_rules_file(stage_name: str, path: Path) -> None:
    """Raises ConfigError naming the stage, the file and every problem the validator reports."""
    if not path.is_file():
        raise ConfigError(f"stages.{stage_name}.importRulesFile: {path} does not exist")
    # Imported late: only synthesis needs the Lambda package, not the local runner's config look-ups.
    from updater.imports.rules import RulesFileInvalid, load_rules  # noqa: PLC0415

    try:
        load_rules(path)
    except RulesFileInvalid as error:
        problems = "\n".join(f"  {problem}" for problem in error.problems)
        raise ConfigError(f"stages.{stage_name}.importRulesFile {path} is invalid:\n{problems}") from None
