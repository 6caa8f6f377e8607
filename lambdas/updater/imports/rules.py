"""Declarative, versioned rules that say which metadata updates an import should trigger.

One JSON file per environment (`config/import-rules/<env>.json`), deployed with the stack, checked at
synth time (`python -m updater.imports.rules --check FILE`) and again at load. Every problem names the
rule (by `id`) and the field, so a bad file is fixed from the message alone.
The format is documented in docs/import-rules.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from updater.imports.levels import AttributeLevel, keyword_problem, level_of
from updater.imports.transforms import Transform

SUPPORTED_VERSION = 1
_RULE_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_UPDATABLE_LEVELS = (AttributeLevel.PATIENT, AttributeLevel.STUDY, AttributeLevel.SERIES)


class RulesFileInvalid(ValueError):
    """A rules file that cannot be used; `problems` lists each one, naming rule id and field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid import rules:\n  " + "\n  ".join(problems))


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, regex_engine="python-re"
    )


class AttributeCondition(_Model):
    """Holds when some value of `keyword` in the image set equals `equals` / fully matches `regex`.

    Values compare in their DICOM text form: surrounding spaces stripped, multiple values joined by
    a backslash.
    """

    keyword: str
    equals: str | None = None
    regex: str | None = None

    @field_validator("keyword")
    @classmethod
    def _standard_keyword(cls, keyword: str) -> str:
        return _checked_keyword(keyword, for_update=False)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, regex: str | None) -> str | None:
        if regex is not None:
            try:
                re.compile(regex)
            except re.error as error:
                raise ValueError(f"not a valid regular expression ({error})") from None
        return regex

    @model_validator(mode="after")
    def _one_test(self) -> Self:
        if (self.equals is None) == (self.regex is None):
            raise ValueError("give exactly one of 'equals' or 'regex'")
        return self


class RuleMatch(_Model):
    """All given conditions must hold; within a list, any entry may. Empty matches every image set."""

    datastores: list[Annotated[str, Field(pattern=r"^[0-9a-z]{32}$")]] = []
    input_prefixes: list[Annotated[str, Field(pattern=r"^s3://[^/]+/")]] = []
    modalities: list[Annotated[str, Field(min_length=1, max_length=16)]] = []
    attributes: list[AttributeCondition] = []


class _KeywordAction(_Model):
    keyword: str

    @field_validator("keyword")
    @classmethod
    def _updatable_keyword(cls, keyword: str) -> str:
        return _checked_keyword(keyword, for_update=True)

    @property
    def level(self) -> AttributeLevel:
        return level_of(self.keyword)


class SetAction(_KeywordAction):
    type: Literal["set"]
    # Single values only: multi-valued attributes can only be written with force.
    value: str | int | float
    level_hint: AttributeLevel | None = Field(default=None, alias="level")

    @model_validator(mode="after")
    def _level_agrees(self) -> Self:
        if self.level_hint is not None and self.level_hint != level_of(self.keyword):
            raise ValueError(
                f"level: {self.keyword} is a {level_of(self.keyword)}-level attribute, not {self.level_hint}"
            )
        return self


class NormalizeAction(_KeywordAction):
    type: Literal["normalize"]
    transforms: list[Transform] = Field(min_length=1)


class MapAction(_KeywordAction):
    type: Literal["map"]
    table: dict[str, str] = Field(min_length=1)


class RemoveAction(_KeywordAction):
    type: Literal["remove"]


Action = Annotated[SetAction | NormalizeAction | MapAction | RemoveAction, Field(discriminator="type")]


class Rule(_Model):
    id: str = Field(pattern=_RULE_ID)
    description: str = ""
    enabled: bool = True
    match: RuleMatch = RuleMatch()
    actions: list[Action] = Field(min_length=1)


class RuleSet(_Model):
    version: Literal[1]
    environment: str = ""
    rules: list[Rule] = []

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used more than once")
            seen.add(rule.id)
        return rules

    @property
    def active_rules(self) -> list[Rule]:
        return [rule for rule in self.rules if rule.enabled]


def _checked_keyword(keyword: str, *, for_update: bool) -> str:
    problem = keyword_problem(keyword)
    if problem is None and for_update and level_of(keyword) not in _UPDATABLE_LEVELS:
        problem = f"{keyword} is an instance-level attribute; rules update Patient, Study and Series levels"
    if problem is not None:
        raise ValueError(problem)
    return keyword


def validate_rules_document(document: Any) -> list[str]:
    """Every problem in a parsed rules document, each naming the rule id and field; [] when valid."""
    return _parse(document)[1]


def load_rules(path: str | Path) -> RuleSet:
    """Read and validate a rules file; raises `RulesFileInvalid` listing every problem."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise RulesFileInvalid([f"{path}: cannot be read ({error.strerror})"]) from None
    except json.JSONDecodeError as error:
        raise RulesFileInvalid([f"{path}: not JSON (line {error.lineno}, column {error.colno})"]) from None
    rule_set, problems = _parse(document)
    if rule_set is None:
        raise RulesFileInvalid(problems)
    return rule_set


def _parse(document: Any) -> tuple[RuleSet | None, list[str]]:
    if isinstance(document, dict) and document.get("version") not in (SUPPORTED_VERSION, None):
        return None, [f"version: unsupported rules file version (supported: {SUPPORTED_VERSION})"]
    try:
        return RuleSet.model_validate(document), []
    except ValidationError as error:
        return None, [_describe(item, document) for item in error.errors(include_url=False)]


def _describe(item: Any, document: Any) -> str:
    location = list(item["loc"])
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
        location.append("type")
    if len(location) >= 2 and location[0] == "rules" and isinstance(location[1], int):
        index = location[1]
        field = _dotted(location[2:]) or "(rule)"
        return f"rule {_rule_id_at(document, index)} (rules[{index}]) {field}: {message}"
    return f"{_dotted(location) or '(document)'}: {message}"


def _rule_id_at(document: Any, index: int) -> str:
    try:
        rule_id = document["rules"][index]["id"]
    except (KeyError, IndexError, TypeError):
        return "without id"
    return repr(rule_id) if isinstance(rule_id, str) else "without id"


def _dotted(location: Sequence[Any]) -> str:
    # Drop the discriminator tag pydantic inserts ("actions.0.set.keyword" -> "actions[0].keyword").
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part not in ("set", "normalize", "map", "remove"):
            text += f".{part}" if text else str(part)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m updater.imports.rules", description=__doc__)
    parser.add_argument("--check", nargs="+", metavar="FILE", required=True, help="rules files to validate")
    arguments = parser.parse_args(argv)
    failed = False
    for path in arguments.check:
        try:
            rule_set = load_rules(path)
        except RulesFileInvalid as error:
            failed = True
            print(f"{path}: INVALID", *(f"  {problem}" for problem in error.problems), sep="\n")
        else:
            print(f"{path}: OK ({len(rule_set.rules)} rules)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
