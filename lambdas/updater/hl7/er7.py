"""Reading an HL7 v2 ER7 message (pipes and hats) into the fields an ADT mapping needs.

Parsing is python-hl7's (`hl7.parse`: the delimiters MSH-1/MSH-2 declare, repetitions, escape
sequences undone by the accessor). Everything a sender writes is PHI until proven otherwise: no
exception text of the parser is kept (it quotes the message), problems name fields, never values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_MESSAGE_BYTES = 256 * 1024
MAX_REPETITIONS = 10


class Hl7Malformed(Exception):
    """Not ER7 with a readable MSH segment."""


class Hl7FieldInvalid(Exception):
    """A field the event needs is missing, or does not map; `field` names it (PID-3, MRG-1, ...)."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field} {rule}")
        self.field = field
        self.rule = rule


@dataclass(frozen=True)
class Identifier:
    """CX: the id (component 1) and the assigning authority's namespace id (component 4.1)."""

    value: str
    authority: str
    type_code: str = ""


@dataclass(frozen=True)
class PersonName:
    """XPN components 1-5: family, given, further given names, suffix, prefix."""

    family: str
    given: str = ""
    middle: str = ""
    suffix: str = ""
    prefix: str = ""


@dataclass(frozen=True)
class AdtMessage:
    message_type: str  # MSH-9.1 (ADT)
    trigger_event: str  # MSH-9.2 (A08), or EVN-1 when MSH-9 has none
    control_id: str  # MSH-10
    identifiers: tuple[Identifier, ...]  # PID-3 repetitions
    name: PersonName | None  # PID-5, first repetition
    birth_date: str  # PID-7 as sent
    sex: str  # PID-8 as sent
    prior_identifiers: tuple[Identifier, ...]  # MRG-1 repetitions (A40)


def parse_er7(text: str) -> AdtMessage:
    import hl7  # noqa: PLC0415  # a cold start that never sees HL7 never loads it

    if len(text.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        raise Hl7Malformed("too large")
    # Transports (JSON, SQS consoles, files) turn the segment separator \r into \n or \r\n.
    normalized = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r\x0b\x1c ")
    if not normalized.startswith("MSH"):
        raise Hl7Malformed("no MSH segment first")
    try:
        message = hl7.parse(normalized)
        message.segment("MSH")
    except Exception as err:  # python-hl7 raises ParseException, IndexError, KeyError...
        raise Hl7Malformed("unreadable") from err
    return AdtMessage(
        message_type=_get(message, "MSH.F9.R1.C1"),
        trigger_event=_get(message, "MSH.F9.R1.C2") or _get(message, "EVN.F1"),
        control_id=_get(message, "MSH.F10"),
        identifiers=_identifiers(message, "PID", 3),
        name=_name(message),
        birth_date=_get(message, "PID.F7.R1.C1"),
        sex=_get(message, "PID.F8"),
        prior_identifiers=_identifiers(message, "MRG", 1),
    )


def _get(message: Any, path: str) -> str:
    """The (unescaped) value at `path`, or "" where the message has nothing there."""
    try:
        value = message[path]
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        return ""
    return str(value).strip() if value is not None else ""


def _identifiers(message: Any, segment: str, field: int) -> tuple[Identifier, ...]:
    found = []
    for repetition in range(1, MAX_REPETITIONS + 1):
        base = f"{segment}.F{field}.R{repetition}"
        value = _get(message, f"{base}.C1")
        if not value and not _get(message, f"{base}.C4"):
            if repetition > 1:
                break
            continue
        found.append(Identifier(value, _get(message, f"{base}.C4.S1"), _get(message, f"{base}.C5")))
    return tuple(found)


def _name(message: Any) -> PersonName | None:
    parts = [_get(message, f"PID.F5.R1.C{component}") for component in range(1, 6)]
    if not any(parts):
        return None
    family, given, middle, suffix, prefix = parts
    return PersonName(family, given, middle, suffix, prefix)
