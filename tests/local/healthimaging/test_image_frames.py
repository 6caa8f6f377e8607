"""GetImageFrame over HTTP: frames of the imported pixel data in the documented stored transfer
syntax, verifiable the way AWS's own example does (decode, CRC32, compare with the metadata)."""

from __future__ import annotations

import gzip
import json
import shutil
import struct
import zlib
from pathlib import Path
from typing import Any

import imagecodecs
import numpy
import pydicom
import pydicom.encaps
import pytest
from botocore.exceptions import ClientError

from local.healthimaging import EmulatorServer
from tests.local.healthimaging.contract import ContractRecorder
from tests.local.healthimaging.dicom_files import shipped
from tests.local.healthimaging.test_dicom_import import ROLE_ARN, wait_for_job


def only_instance(client: Any, datastore_id: str, image_set_id: str) -> dict[str, Any]:
    blob = client.get_image_set_metadata(datastoreId=datastore_id, imageSetId=image_set_id)[
        "imageSetMetadataBlob"
    ]
    [series] = json.loads(gzip.decompress(blob.read()))["Study"]["Series"].values()
    [instance] = series["Instances"].values()
    return dict(instance)


def frame(client: Any, datastore_id: str, image_set_id: str, frame_id: str) -> tuple[bytes, str]:
    response = client.get_image_frame(
        datastoreId=datastore_id, imageSetId=image_set_id, imageFrameInformation={"imageFrameId": frame_id}
    )
    return response["imageFrameBlob"].read(), response["contentType"]


def imported(emulator: EmulatorServer, client: Any, name: str, **datastore: Any) -> tuple[str, str]:
    datastore_id = client.create_datastore(datastoreName="frames", clientToken="f", **datastore)[
        "datastoreId"
    ]
    [image_set_id] = emulator.service.import_dicom_files(datastore_id, [str(shipped(name))])
    return datastore_id, image_set_id


def test_a_transcoded_frame_is_htj2k_rpcl_and_matches_its_checksum(
    client: Any, emulator: EmulatorServer
) -> None:
    recorder = ContractRecorder(client)
    datastore_id, image_set_id = imported(emulator, client, "CT_small.dcm")
    instance = only_instance(client, datastore_id, image_set_id)
    [entry] = instance["ImageFrames"]

    data, content_type = frame(client, datastore_id, image_set_id, entry["ID"])

    decoded = imagecodecs.htj2k_decode(data)
    full = max(entry["PixelDataChecksumFromBaseToFullResolution"], key=lambda c: c["Width"])
    assert (instance["StoredTransferSyntaxUID"], content_type) == ("1.2.840.10008.1.2.4.202", "image/jph")
    assert zlib.crc32(decoded) == full["Checksum"]
    assert numpy.array_equal(decoded, pydicom.dcmread(shipped("CT_small.dcm")).pixel_array)  # lossless
    assert entry["FrameSizeInBytes"] == len(data)
    cod = data.index(b"\xff\x52")
    assert data[cod + 5] == 2, "RPCL progression"
    assert b"\xff\x55" in data[: cod + 200] or b"\xff\x55" in data, "TLM marker"
    assert recorder.problems == []


def test_jpeg_baseline_is_kept_as_it_was_imported(client: Any, emulator: EmulatorServer) -> None:
    datastore_id, image_set_id = imported(emulator, client, "SC_rgb_jpeg_dcmtk.dcm")
    instance = only_instance(client, datastore_id, image_set_id)

    data, content_type = frame(client, datastore_id, image_set_id, instance["ImageFrames"][0]["ID"])

    source = pydicom.dcmread(shipped("SC_rgb_jpeg_dcmtk.dcm"))
    [original] = pydicom.encaps.generate_frames(source.PixelData, number_of_frames=1)
    assert (instance["StoredTransferSyntaxUID"], content_type) == ("1.2.840.10008.1.2.4.50", "image/jpeg")
    assert data == original


def test_a_jpeg_2000_lossless_data_store_stores_jpeg_2000(client: Any, emulator: EmulatorServer) -> None:
    datastore_id, image_set_id = imported(
        emulator, client, "MR_small.dcm", losslessStorageFormat="JPEG_2000_LOSSLESS"
    )
    instance = only_instance(client, datastore_id, image_set_id)

    data, content_type = frame(client, datastore_id, image_set_id, instance["ImageFrames"][0]["ID"])

    assert instance["StoredTransferSyntaxUID"] == "1.2.840.10008.1.2.4.90"
    assert content_type == "image/j2c"
    assert numpy.array_equal(
        imagecodecs.jpeg2k_decode(data), pydicom.dcmread(shipped("MR_small.dcm")).pixel_array
    )


def test_each_frame_of_a_multi_frame_instance_has_its_own_id(client: Any, emulator: EmulatorServer) -> None:
    datastore_id, image_set_id = imported(emulator, client, "SC_rgb_rle_2frame.dcm")
    entries = only_instance(client, datastore_id, image_set_id)["ImageFrames"]
    source = pydicom.dcmread(shipped("SC_rgb_rle_2frame.dcm")).pixel_array

    decoded = [
        imagecodecs.htj2k_decode(frame(client, datastore_id, image_set_id, e["ID"])[0]) for e in entries
    ]

    assert len({e["ID"] for e in entries}) == 2
    assert all(numpy.array_equal(d, s) for d, s in zip(decoded, source, strict=True))


def test_an_unknown_frame_is_not_found(client: Any, emulator: EmulatorServer) -> None:
    datastore_id, image_set_id = imported(emulator, client, "CT_small.dcm")

    with pytest.raises(ClientError) as raised:
        frame(client, datastore_id, image_set_id, "0" * 32)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def with_invalid_offset_table(path: Path) -> None:
    """JPEG2000.dcm with a Basic Offset Table whose first offset is 8 (it must be 0)."""
    dataset = pydicom.dcmread(shipped("JPEG2000.dcm"))
    [data] = pydicom.encaps.generate_frames(dataset.PixelData, number_of_frames=1)
    encapsulated = pydicom.encaps.encapsulate([data], has_bot=True)
    dataset.PixelData = encapsulated[:8] + struct.pack("<I", 8) + encapsulated[12:]
    dataset["PixelData"].is_undefined_length = True
    dataset.save_as(path)


def test_an_invalid_offset_table_is_a_warning_in_the_manifest(client: Any, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    with_invalid_offset_table(inputs / "warned.dcm")
    shutil.copy(shipped("CT_small.dcm"), inputs / "clean.dcm")
    datastore_id = client.create_datastore(datastoreName="warnings", clientToken="w")["datastoreId"]
    job_id = client.start_dicom_import_job(
        datastoreId=datastore_id, dataAccessRoleArn=ROLE_ARN, clientToken="w",
        inputS3Uri=f"file://{inputs}/", outputS3Uri=f"file://{tmp_path}/out/",
    )["jobId"]  # fmt: skip
    assert wait_for_job(client, datastore_id, job_id)["jobStatus"] == "COMPLETED"

    output = tmp_path / "out" / f"{datastore_id}-DicomImport-{job_id}"
    summary = json.loads((output / "job-output-manifest.json").read_text())["jobSummary"]
    [warned] = [json.loads(line) for line in (output / "WARNING" / "warning.ndjson").read_text().splitlines()]
    successes = [
        json.loads(line)["inputFile"]
        for line in (output / "SUCCESS" / "success.ndjson").read_text().splitlines()
    ]
    assert summary["warningsOutputS3Uri"] == f"{summary['outputS3Uri']}WARNING/"
    assert summary["numberOfImportedFiles"] == 2 and successes == ["clean.dcm"]
    assert warned["inputFile"] == "warned.dcm"
    assert warned["importResponse"]["warnings"] == [
        {
            "warning_reason_code": 45330,
            "type": "InvalidOffsetTable",
            "message": "The file was imported but contains an invalid offset table, may see issues when "
            "retrieving certain frames.",
        }
    ]
    assert warned["importResponse"]["imageSetVersion"] == 1


def test_a_job_without_warnings_writes_no_warning_folder(client: Any, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(shipped("CT_small.dcm"), inputs / "clean.dcm")
    datastore_id = client.create_datastore(datastoreName="no-warnings", clientToken="n")["datastoreId"]
    job_id = client.start_dicom_import_job(
        datastoreId=datastore_id, dataAccessRoleArn=ROLE_ARN, clientToken="n",
        inputS3Uri=f"file://{inputs}/", outputS3Uri=f"file://{tmp_path}/out/",
    )["jobId"]  # fmt: skip
    wait_for_job(client, datastore_id, job_id)

    output = tmp_path / "out" / f"{datastore_id}-DicomImport-{job_id}"
    assert (
        "warningsOutputS3Uri"
        not in json.loads((output / "job-output-manifest.json").read_text())["jobSummary"]
    )
    assert not (output / "WARNING").exists()
