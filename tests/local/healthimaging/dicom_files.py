"""Sample DICOM inputs built from the files pydicom ships (exact names only: no downloads)."""

from __future__ import annotations

from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid


def shipped(name: str) -> Path:
    path = get_testdata_file(name)
    assert path is not None, name
    return Path(str(path))


def write_series_copies(
    directory: Path, count: int, name: str = "CT_small.dcm", study_description: str | None = None
) -> list[Path]:
    """`count` single-instance series of one study: distinct Series/SOP Instance UIDs, same patient."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        dataset = pydicom.dcmread(shipped(name))
        dataset.SeriesInstanceUID = generate_uid()
        dataset.SOPInstanceUID = generate_uid()
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        if study_description is not None:
            dataset.StudyDescription = study_description
        path = directory / f"series-{index}.dcm"
        dataset.save_as(path)
        paths.append(path)
    return paths
