"""Image frames: the pixel data of imported instances, stored the way HealthImaging documents it.

"Supported transfer syntaxes" (developer guide): some files keep their original encoding, the rest
are transcoded to HTJ2K lossless with RPCL options (1.2.840.10008.1.2.4.202), or to JPEG 2000
lossless (1.2.840.10008.1.2.4.90) in a data store created with `losslessStorageFormat`
JPEG_2000_LOSSLESS. GetImageFrame returns a frame "in the stored transfer syntax of the instance",
with the content type its model documentation lists. The syntaxes kept as they are, here, are those
that list names (their content types are the only non-HTJ2K ones it gives): JPEG baseline .50,
JPEG 2000 .91, HTJ2K .203, JPEG XL .112, the MPEG family, and binary segmentations in explicit VR
little endian. HTJ2K follows DICOM PS3.5's RPCL rules: RPCL progression, a base resolution of at
most 64 pixels, TLM markers (imagecodecs' OpenJPH encoder).

Each frame's metadata entry carries what clients read (AWS's own samples verify frames with it):
`ID`, `PixelDataChecksumFromBaseToFullResolution` (CRC32 of the decoded frame at full resolution,
the value AWS's "imaging set and frames" example recomputes with `zlib.crc32` of the decoded array),
`MinPixelValue`, `MaxPixelValue` and `FrameSizeInBytes` (the stored frame's size, as in a
real-service metadata document where it is smaller than rows x columns x 2).
"""

from __future__ import annotations

import math
import secrets
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import imagecodecs
import numpy
import pydicom.encaps
from pydicom import Dataset
from pydicom.uid import UID

HTJ2K_RPCL = "1.2.840.10008.1.2.4.202"
JPEG_2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
_MPEG2 = (
    "1.2.840.10008.1.2.4.100",
    "1.2.840.10008.1.2.4.100.1",
    "1.2.840.10008.1.2.4.101",
    "1.2.840.10008.1.2.4.101.1",
)
_H264 = tuple(f"1.2.840.10008.1.2.4.{n}{suffix}" for n in range(102, 107) for suffix in ("", ".1"))
_HEVC = ("1.2.840.10008.1.2.4.107", "1.2.840.10008.1.2.4.108")
# GetImageFrame's contentType per stored transfer syntax, as the model's documentation lists it
# (HEVC's "video/H256" verbatim). JPEG 2000 lossless is not listed: a J2K codestream, like .91.
_CONTENT_TYPES = {
    EXPLICIT_VR_LITTLE_ENDIAN: "application/octet-stream",
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.91": "image/j2c",
    HTJ2K_RPCL: "image/jph",
    "1.2.840.10008.1.2.4.203": "image/jphc",
    "1.2.840.10008.1.2.4.112": "image/jxl",
    JPEG_2000_LOSSLESS: "image/j2c",
    **dict.fromkeys(_MPEG2, "video/mpeg"),
    **dict.fromkeys(_H264, "video/mp4"),
    **dict.fromkeys(_HEVC, "video/H256"),
}
_VIDEO = frozenset(_MPEG2 + _H264 + _HEVC)
_KEPT_AS_ENCODED = _VIDEO | {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.203"}
_KEPT_AS_ENCODED |= {"1.2.840.10008.1.2.4.112"}
_RPCL_BASE_RESOLUTION = 64


class PixelDataUnreadable(Exception):
    """The emulator cannot decode this pixel data (the real service might): the file fails to import."""


@dataclass(frozen=True)
class StoredFrame:
    frame_id: str
    data: bytes
    content_type: str


@dataclass(frozen=True)
class InstanceFrames:
    stored_transfer_syntax: str | None
    frames: list[StoredFrame] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)


def content_type(transfer_syntax: str | None) -> str:
    """A missing stored syntax means HTJ2K RPCL (model documentation and "Supported transfer syntaxes")."""
    return _CONTENT_TYPES.get(transfer_syntax or HTJ2K_RPCL, "application/octet-stream")


def store_frames(dataset: Dataset, lossless_storage_format: str) -> InstanceFrames:
    original = _transfer_syntax(dataset)
    if "PixelData" not in dataset:
        return InstanceFrames(original)
    count = _frame_count(dataset)
    if original in _VIDEO:  # one encoded stream, kept as it is; nothing to decode for the entry
        return _kept(original, [bytes(dataset.PixelData)], [None])
    keep = original in _KEPT_AS_ENCODED or (original == EXPLICIT_VR_LITTLE_ENDIAN and _is_binary(dataset))
    decoded = _decoded_frames(dataset, original, count)
    if keep:
        encoded = _encapsulated(dataset, count) if UID(original).is_compressed else _native(dataset, decoded)
        return _kept(original, encoded, decoded)
    stored = JPEG_2000_LOSSLESS if lossless_storage_format == "JPEG_2000_LOSSLESS" else HTJ2K_RPCL
    return _kept(stored, [_lossless(frame, stored) for frame in decoded], decoded)


def _transfer_syntax(dataset: Dataset) -> str:
    meta = getattr(dataset, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    return str(uid) if uid else EXPLICIT_VR_LITTLE_ENDIAN


def _frame_count(dataset: Dataset) -> int:
    try:
        return max(1, int(dataset.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError) as error:
        raise PixelDataUnreadable("NumberOfFrames is not a number") from error


def _is_binary(dataset: Dataset) -> bool:
    return int(dataset.get("BitsAllocated", 8)) == 1


def _kept(syntax: str, encoded: list[bytes], decoded: Sequence[numpy.ndarray | None]) -> InstanceFrames:
    frames = [StoredFrame(secrets.token_hex(16), data, content_type(syntax)) for data in encoded]
    entries = [_entry(frame, array) for frame, array in zip(frames, decoded, strict=True)]
    return InstanceFrames(syntax, frames, entries)


def _entry(frame: StoredFrame, array: numpy.ndarray | None) -> dict[str, Any]:
    """Video streams are not decoded here: their entries carry the id and size only."""
    if array is None:
        return {"ID": frame.frame_id, "FrameSizeInBytes": len(frame.data)}
    full_resolution = {
        "Width": int(array.shape[1]),
        "Height": int(array.shape[0]),
        "Checksum": zlib.crc32(numpy.ascontiguousarray(array).tobytes()),
    }
    return {
        "ID": frame.frame_id,
        "PixelDataChecksumFromBaseToFullResolution": [full_resolution],
        "MinPixelValue": int(array.min()),
        "MaxPixelValue": int(array.max()),
        "FrameSizeInBytes": len(frame.data),
    }


def _decoded_frames(dataset: Dataset, syntax: str, count: int) -> list[numpy.ndarray]:
    try:
        if not UID(syntax).is_compressed or syntax == "1.2.840.10008.1.2.5":  # native or RLE: pydicom
            pixels = dataset.pixel_array
            return [pixels] if count == 1 else list(pixels)
        return [imagecodecs.imread(data) for data in _encapsulated(dataset, count)]
    except Exception as error:  # any decoder failure: say which file, not why in PHI terms
        raise PixelDataUnreadable(f"pixel data in transfer syntax {syntax} could not be decoded") from error


def _encapsulated(dataset: Dataset, count: int) -> list[bytes]:
    return list(pydicom.encaps.generate_frames(dataset.PixelData, number_of_frames=count))


def _native(dataset: Dataset, decoded: list[numpy.ndarray]) -> list[bytes]:
    """Frames of native pixel data as stored in the file (binary segmentations: bit-packed)."""
    data = bytes(dataset.PixelData)
    size = len(data) // len(decoded)
    return [data[i * size : (i + 1) * size] for i in range(len(decoded))]


def _lossless(frame: numpy.ndarray, syntax: str) -> bytes:
    if syntax == JPEG_2000_LOSSLESS:
        return bytes(imagecodecs.jpeg2k_encode(frame, level=0, codecformat="J2K", reversible=True))
    levels = max(1, math.ceil(math.log2(max(frame.shape[0], frame.shape[1]) / _RPCL_BASE_RESOLUTION)))
    return bytes(imagecodecs.htj2k_encode(frame, resolutions=max(5, levels), reversible=True, tlm=True))
