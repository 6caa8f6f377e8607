from __future__ import annotations

import json
from typing import Any

from tests.unit.imports.documents import SERIES_UID, STUDY_UID
from updater.imports.corrections import CorrectionsReader, RejectedCorrectionsFile


def put_json(s3: Any, bucket: str, key: str, document: Any) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document).encode())


def test_sidecars_directly_under_the_input_prefix_are_read(s3: Any, bucket: str) -> None:
    put_json(
        s3,
        bucket,
        "input/corrections.json",
        {"version": 1, "studies": {STUDY_UID: {"set": {"PatientID": "X1"}}}},
    )
    put_json(
        s3,
        bucket,
        "input/site-a-corrections.json",
        {"version": 1, "series": {SERIES_UID: {"remove": ["StationName"]}}},
    )
    put_json(
        s3, bucket, "input/series-1/corrections.json", {"version": 1}
    )  # inside a DICOM folder: not a sidecar
    put_json(s3, bucket, "input-other/corrections.json", {"version": 1})  # another prefix
    s3.put_object(Bucket=bucket, Key="input/image.dcm", Body=b"DICM")

    load = CorrectionsReader(s3).read(f"s3://{bucket}/input/")

    assert [file.name for file in load.files] == ["input/corrections.json", "input/site-a-corrections.json"]
    assert load.files[0].document.studies[STUDY_UID].set == {"PatientID": "X1"}
    assert load.files[1].document.series[SERIES_UID].remove == ["StationName"]
    assert load.rejected == []


def test_a_prefix_without_trailing_slash_means_the_same_folder(s3: Any, bucket: str) -> None:
    put_json(s3, bucket, "input/corrections.json", {"version": 1})

    assert [file.name for file in CorrectionsReader(s3).read(f"s3://{bucket}/input").files] == [
        "input/corrections.json"
    ]


def test_a_bad_sidecar_is_rejected_with_its_problems_and_the_good_ones_still_apply(
    s3: Any, bucket: str
) -> None:
    put_json(
        s3,
        bucket,
        "input/a-corrections.json",
        {"version": 1, "studies": {STUDY_UID: {"set": {"Nonsense": 1}}}},
    )
    s3.put_object(Bucket=bucket, Key="input/b-corrections.json", Body=b"{not json")
    put_json(s3, bucket, "input/corrections.json", {"version": 1})

    load = CorrectionsReader(s3).read(f"s3://{bucket}/input/")

    assert [file.name for file in load.files] == ["input/corrections.json"]
    assert load.rejected == [
        RejectedCorrectionsFile(
            "input/a-corrections.json", ["studies.entry 1.set: 'Nonsense' is not a standard DICOM keyword"]
        ),
        RejectedCorrectionsFile("input/b-corrections.json", ["not JSON"]),
    ]


def test_no_sidecar_means_no_corrections(s3: Any, bucket: str) -> None:
    load = CorrectionsReader(s3).read(f"s3://{bucket}/input/")

    assert (load.files, load.rejected) == ([], [])
