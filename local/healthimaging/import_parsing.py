"""Read an import's DICOM P10 files: datasets, stored image frames, and per-file warnings.

The one warning the developer guide documents (`WARNING/warning.ndjson` sample) is an invalid
Basic Offset Table: warning_reason_code 45330, type InvalidOffsetTable, "The file was imported but
contains an invalid offset table, may see issues when retrieving certain frames."
"""

from __future__ import annotations

import io
from typing import Any

import pydicom
import pydicom.encaps
from pydicom import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, generate_uid

from local.healthimaging.dicom_import import (
    ParsedInstance,
    build_document,
    group_by_series,
    missing_required_attribute,
)
from local.healthimaging.image_frames import PixelDataUnreadable, store_frames
from local.healthimaging.import_locations import InputFile
from local.healthimaging.import_manifests import ImportResult

INVALID_OFFSET_TABLE = {
    "warning_reason_code": 45330,
    "type": "InvalidOffsetTable",
    "message": "The file was imported but contains an invalid offset table, may see issues when retrieving "
    "certain frames.",
}


def parse_instances(
    files: list[InputFile], result: ImportResult, lossless_storage_format: str
) -> list[ParsedInstance]:
    parsed = []
    for input_file in files:
        try:
            dataset = pydicom.dcmread(io.BytesIO(input_file.data))
        except (InvalidDicomError, EOFError, ValueError, OSError):
            result.fail(input_file.name, "ValidationException", "File is not a DICOM P10 file")
            continue
        missing = missing_required_attribute(dataset)
        if missing is not None:
            result.fail(input_file.name, "ValidationException", f"DICOM attribute {missing} does not exist")
            continue
        try:
            frames = store_frames(dataset, lossless_storage_format)
        except PixelDataUnreadable as error:
            result.fail(input_file.name, "ValidationException", str(error))
            continue
        instance = ParsedInstance(input_file.name, dataset, frames, _warnings(dataset))
        try:
            build_document("", "", [instance])  # every element readable, or the file fails here
        except Exception:  # pydicom raises many kinds for malformed elements
            result.fail(input_file.name, "ValidationException", "File holds an element that cannot be read")
            continue
        parsed.append(instance)
    return parsed


def _warnings(dataset: Dataset) -> list[dict[str, Any]]:
    return [dict(INVALID_OFFSET_TABLE)] if _has_invalid_offset_table(dataset) else []


def _has_invalid_offset_table(dataset: Dataset) -> bool:
    """A non-empty Basic Offset Table must hold one offset per frame, the first 0, each at a fragment."""
    syntax = dataset.file_meta.get("TransferSyntaxUID") if hasattr(dataset, "file_meta") else None
    if "PixelData" not in dataset or syntax is None or not UID(str(syntax)).is_encapsulated:
        return False
    data = bytes(dataset.PixelData)
    try:
        offsets = pydicom.encaps.parse_basic_offsets(data)
        _, fragment_starts = pydicom.encaps.parse_fragments(data)
    except (ValueError, KeyError):
        return True
    if not offsets:
        return False
    table_length = 8 + 4 * len(offsets)
    starts = {start - table_length for start in fragment_starts}
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    return len(offsets) != frames or offsets[0] != 0 or not set(offsets) <= starts


def reidentified(instances: list[ParsedInstance]) -> list[ParsedInstance]:
    """Fresh Series and SOP Instance UIDs (Study kept): the admin import gives a new image set per call,
    which tests, the chaos soak and the bench rely on when they import one sample file many times."""
    renamed = []
    for members in group_by_series(instances).values():
        series_uid = generate_uid()
        for instance in members:
            dataset = instance.dataset
            dataset.SeriesInstanceUID = series_uid
            dataset.SOPInstanceUID = generate_uid()
            if hasattr(dataset, "file_meta"):
                dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
            renamed.append(instance)
    return renamed
