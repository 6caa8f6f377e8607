"""Which keys and names from the caller's input a message may repeat.

A key is user input like a value: a client that puts a patient's name where a keyword goes would
see it quoted back in every failure message, log line and failure record. So a location names a
key only when it belongs to a fixed vocabulary (the contract's fields and the document's structure,
in any letter case; a DICOM keyword; a usable private tag; a DICOM UID); any other key appears as
`(key sha256 <12 hex> len <n>)`, which the caller can match by hashing its own keys. The form has
no colon or quote, so `outcome.scrub_message` keeps it.

File names from an import's manifests are often named after the patient; they appear only when
they look machine-made (UIDs, hex or digit names), otherwise by fingerprint.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection

from updater.domain.identifiers import FINGERPRINT_HEX, fingerprint

DOCUMENT_STRUCTURE_KEYS = frozenset(
    {
        "SchemaVersion", "Patient", "Study", "Series", "Instances", "DICOM", "DICOMVRs",
        "DatastoreID", "ImageSetID", "ImageFrames", "StoredTransferSyntaxUID", "ChecksumType",
    }
)  # fmt: skip
_TAG = re.compile(r"[0-9A-Fa-f]{8}")
# A path segment of a machine-made file name: a number or UID, or a hash or UUID (lowercase hex of
# 8 or more), with an optional DICOM extension. Words, even of hex letters only, are not.
_MACHINE_MADE_SEGMENT = re.compile(r"(?:[0-9._-]{1,128}|[0-9a-f-]{8,128})(?:\.(?:dcm|DCM|dicom|DICOM))?")
MAX_SHOWN_FILE_NAME = 512


def withheld(key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:FINGERPRINT_HEX]
    return f"(key sha256 {digest} len {len(key)})"


def shown_key(key: int | str, vocabulary: Collection[str] = ()) -> str:
    """A location segment fit for messages and logs: the key itself, or its fingerprint."""
    if isinstance(key, int):
        return str(key)  # a list position
    if key in vocabulary or key in DOCUMENT_STRUCTURE_KEYS:
        return key
    # A case slip of a known name ("dryrun") is shown: it helps the caller and cannot be a name.
    folded = key.casefold()
    if any(folded == known.casefold() for known in (*vocabulary, *DOCUMENT_STRUCTURE_KEYS)):
        return key
    if _is_dicom_name(key):
        return key
    return withheld(key)


def _is_dicom_name(key: str) -> bool:
    # Imported here: the dictionary is loaded at the first lookup, and only failures look keys up.
    from updater.domain.validation.dicom_dictionary import entry_for_keyword  # noqa: PLC0415
    from updater.domain.validation.keywords import private_tag_problem  # noqa: PLC0415
    from updater.domain.validation.vr_values import is_valid_uid  # noqa: PLC0415

    if not key.isascii() or len(key) > 64:
        return False
    if _TAG.fullmatch(key):  # only a usable private tag: any 8 digits could be an MRN
        return private_tag_problem(key) is None
    # A UID has at least two components: a bare number could be an MRN.
    return ("." in key and is_valid_uid(key)) or entry_for_keyword(key) is not None


def shown_file_name(name: str) -> str:
    """A file name from an import's manifest, fit for summaries and logs."""
    segments = name.split("/")
    if 0 < len(name) <= MAX_SHOWN_FILE_NAME and all(_MACHINE_MADE_SEGMENT.fullmatch(s) for s in segments):
        return name
    return "file:" + fingerprint(name)
