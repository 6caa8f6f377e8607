"""Turn DICOM P10 files into SchemaVersion 1.1 metadata documents, one image set per series.

Pixel data goes to image frames (image_frames); the document's instance nodes carry their
`StoredTransferSyntaxUID` and `ImageFrames` entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydicom import Dataset
from pydicom.dataelem import DataElement
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from local.healthimaging.dicom_levels import Level, level_of
from local.healthimaging.image_frames import InstanceFrames
from local.healthimaging.records import MetadataDocument

# Binary VRs have no JSON value in the metadata document; their pixels live in image frames.
_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_PIXEL_DATA_TAG = 0x7FE00010


@dataclass(frozen=True)
class SeriesKey:
    study_instance_uid: str
    series_instance_uid: str


@dataclass(frozen=True)
class ParsedInstance:
    input_file: str
    dataset: Dataset
    frames: InstanceFrames
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sop_instance_uid(self) -> str:
        return str(self.dataset.SOPInstanceUID)

    @property
    def series_key(self) -> SeriesKey:
        return SeriesKey(str(self.dataset.StudyInstanceUID), str(self.dataset.SeriesInstanceUID))


def missing_required_attribute(dataset: Dataset) -> str | None:
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        if not dataset.get(keyword):
            return keyword
    return None


def group_by_series(instances: Iterable[ParsedInstance]) -> dict[SeriesKey, list[ParsedInstance]]:
    groups: dict[SeriesKey, list[ParsedInstance]] = {}
    for instance in instances:
        groups.setdefault(instance.series_key, []).append(instance)
    return groups


def build_document(datastore_id: str, image_set_id: str, instances: list[ParsedInstance]) -> MetadataDocument:
    patient: dict[str, Any] = {}
    study: dict[str, Any] = {}
    series: dict[str, Any] = {}
    instance_nodes: dict[str, Any] = {}
    for instance in instances:
        dicom, vrs = _split_by_level(instance.dataset, patient, study, series)
        instance_nodes[instance.sop_instance_uid] = {
            "DICOM": dicom,
            "DICOMVRs": vrs,
            "StoredTransferSyntaxUID": instance.frames.stored_transfer_syntax,
            "ChecksumType": "DECOMPRESSED",
            "ImageFrames": instance.frames.entries,
        }
    series_uid = str(instances[0].dataset.SeriesInstanceUID)
    return {
        "SchemaVersion": "1.1",
        "DatastoreID": datastore_id,
        "ImageSetID": image_set_id,
        "Patient": {"DICOM": patient},
        "Study": {
            "DICOM": study,
            "Series": {series_uid: {"DICOM": series, "Instances": instance_nodes}},
        },
    }


def _split_by_level(
    dataset: Dataset, patient: dict[str, Any], study: dict[str, Any], series: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    by_level = {Level.PATIENT: patient, Level.STUDY: study, Level.SERIES: series}
    instance: dict[str, Any] = {}
    vrs: dict[str, str] = {}
    for element in dataset:
        key = element.keyword or f"{element.tag:08X}"
        value = None if element.tag == _PIXEL_DATA_TAG else element_value(element)
        if element.tag.is_private:
            vrs[key] = element.VR
        by_level.get(level_of(key), instance)[key] = value
    return instance, vrs


def element_value(element: DataElement) -> Any:
    """JSON value: null when empty, arrays for multi-valued and SQ, DS/IS as their original text."""
    if element.VR in _BINARY_VRS or element.value is None or element.value == "":
        return None
    if element.VR == "SQ":
        return [_sequence_item(item) for item in element.value]
    if isinstance(element.value, MultiValue | list):
        values = [_scalar(element.VR, v) for v in element.value]
        return values or None
    return _scalar(element.VR, element.value)


def _sequence_item(item: Dataset) -> dict[str, Any]:
    return {(e.keyword or f"{e.tag:08X}"): element_value(e) for e in item}


def _scalar(vr: str, value: Any) -> Any:
    if isinstance(value, PersonName):
        return str(value)
    if vr in ("DS", "IS"):
        original = getattr(value, "original_string", None)
        return original if isinstance(original, str) else str(value)
    if isinstance(value, bytes):
        return value.decode("ascii", errors="replace")
    if isinstance(value, int | float | str):
        return value
    return str(value)
