"""pydicom's DICOM data dictionary, without importing the pydicom package.

Validation needs only the dictionary (keyword → tag, VR, VM, retired). `import pydicom.datadict`
runs pydicom's package initialisation, which loads its configuration and pixel-data machinery
(and NumPy where installed): about 280 ms of every cold start, for nothing the updater uses. The
dictionary is a plain data module inside pydicom (`_dicom_dict.py`), so it is loaded on its own;
the bytecode cache applies as for any import. It is read at the first lookup, not at import: the
apply and finalize functions import validation's modules for a few names and never look a keyword up.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any


def _load_dictionary() -> dict[int, tuple[str, str, str, str, str]]:
    package = importlib.util.find_spec("pydicom")  # locates the package without running its __init__
    if package is None or package.origin is None:
        raise ImportError("pydicom is not installed")
    path = Path(package.origin).with_name("_dicom_dict.py")
    spec = importlib.util.spec_from_file_location("updater._pydicom_dictionary_data", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dictionary: dict[int, tuple[str, str, str, str, str]] = module.DicomDictionary
    return dictionary


@cache
def _tables() -> tuple[dict[int, tuple[str, str, str, str, str]], dict[str, int]]:
    """(tag -> (VR, VM, Name, Retired, Keyword) as pydicom ships it, keyword -> tag)."""
    dictionary = _load_dictionary()
    return dictionary, {entry[4]: tag for tag, entry in dictionary.items() if entry[4]}


@dataclass(frozen=True)
class DictionaryEntry:
    keyword: str
    tag: int
    vr: str  # may be a choice such as "US or SS"
    vm: str
    retired: bool


def entry_for_keyword(keyword: str) -> DictionaryEntry | None:
    """The dictionary entry of a standard keyword, or None when it is not a DICOM keyword."""
    dictionary, tags = _tables()
    tag = tags.get(keyword)
    if tag is None:
        return None
    vr, vm, _name, retired, _keyword = dictionary[tag]
    return DictionaryEntry(keyword, tag, vr, vm, bool(retired))
