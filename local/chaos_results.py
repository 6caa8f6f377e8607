"""One invariant's verdict, as the soak reports it."""

from __future__ import annotations

from dataclasses import dataclass, field

SHOWN_PROBLEMS = 5


@dataclass(frozen=True)
class InvariantResult:
    name: str
    holds: bool
    detail: str
    problems: list[str] = field(default_factory=list)


def result(name: str, problems: list[str], detail: str) -> InvariantResult:
    """Holds when there are no problems; keeps the first few (ids only, never values)."""
    return InvariantResult(name, not problems, detail, problems[:SHOWN_PROBLEMS])
