"""The ids a caller sends, and how the updater repeats them.

An id that matches its pattern is repeated as it is: it is what the caller correlates by. One that
does not may hold anything a client put there (a patient's name pasted into `imageSetId`, an MRN
as a `requestId`), so it is never repeated: outcomes, logs, ledger keys and failure records carry
its fingerprint, `invalid:sha256:<first 12 hex of its SHA-256>:len<characters>`, which the caller
can compute from what it sent and nobody else can read back.

Every outcome is stored and published under one key, its `requestId`:

    <requestId>                            a valid requestId (given, or derived from the content)
    body-<32 hex>                          a message without a usable requestId: its content hash
    invalid:sha256:<12 hex>:len<n>         an invalid requestId, by fingerprint
    reused:<12 hex>:<key>                  a requestId sent again with other content (12 hex of the
                                           newcomer's content digest): the original keeps <key>

The derived forms are reserved: a caller's requestId of one of those shapes is invalid, so no
caller can take, or block, a key the updater derives.
"""

from __future__ import annotations

import hashlib
import re
from typing import TypeGuard

ID_PATTERN = r"^[0-9a-z]{32}$"
# ASCII digits only (`\d` would take any script's digits); 20 digits hold any 64-bit version.
VERSION_PATTERN = r"^[0-9]{1,20}$"
REQUEST_ID_PATTERN = r"^[\x21-\x7e]{1,128}$"
FINGERPRINT_HEX = 12
_RESOURCE_ID = re.compile(ID_PATTERN)
_VERSION_ID = re.compile(VERSION_PATTERN)
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
_RESERVED_REQUEST_ID = re.compile(r"^(?:invalid:|reused:|refused:|body-[0-9a-f]{32}$)")


def fingerprint(value: str) -> str:
    """`sha256:<12 hex>:len<n>` of a text that must not be repeated."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:FINGERPRINT_HEX]
    return f"sha256:{digest}:len{len(value)}"


def invalid_form(value: object) -> str:
    """How an id that failed its pattern is reported. A value that is not even a string is
    reported by its JSON type alone: its text could be anything."""
    if isinstance(value, str):
        return "invalid:" + fingerprint(value)
    return "invalid:" + _json_type(value)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list | tuple):
        return "array"
    return "object" if isinstance(value, dict) else "value"


def is_resource_id(value: object) -> TypeGuard[str]:
    """A data store, image set or import job id: 32 lowercase letters or digits."""
    return isinstance(value, str) and bool(_RESOURCE_ID.fullmatch(value))


def is_version_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(_VERSION_ID.fullmatch(value))


def is_request_id(value: object) -> TypeGuard[str]:
    """1-128 printable ASCII characters, and not a form the updater derives."""
    return (
        isinstance(value, str)
        and bool(_REQUEST_ID.fullmatch(value))
        and not _RESERVED_REQUEST_ID.match(value)
    )


def reported_resource_id(value: object) -> str:
    """A data store or image set id as outcomes and logs may show it ("" when absent)."""
    if value is None or value == "":
        return ""
    return value if is_resource_id(value) else invalid_form(value)


def reported_request_id(value: object) -> str:
    """A requestId as outcomes, ledger keys and failure records may show it."""
    return value if is_request_id(value) else invalid_form(value)


def reused_key(key: str, digest: str) -> str:
    """The key of a newcomer that reused `key` for other content (`digest`: the newcomer's)."""
    return f"reused:{digest[:FINGERPRINT_HEX]}:{key}"
