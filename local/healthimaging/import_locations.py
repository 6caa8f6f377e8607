"""Where import jobs read DICOM from and write their manifests to: `s3://` (through the configured
S3 client, i.e. moto's server locally) or, as an emulator convenience, a `file://` directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse


class LocationError(Exception):
    """The location cannot be read or written; the job fails with this message."""


@dataclass(frozen=True)
class InputFile:
    name: str  # what the manifests call `inputFile`: the S3 key, or the path below the directory
    data: bytes


def job_output_uri(output_uri: str, datastore_id: str, job_id: str) -> str:
    """The service writes into a job-specific sub-prefix of the caller's output location."""
    return f"{output_uri.rstrip('/')}/{datastore_id}-DicomImport-{job_id}/"


def _file_path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


def _bucket_and_key(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return parsed.netloc, parsed.path.lstrip("/")


def read_input_files(uri: str, s3_client: Any | None) -> list[InputFile]:
    if uri.startswith("file://"):
        root = _file_path(uri)
        if not root.is_dir():
            raise LocationError("Input directory does not exist")
        return [
            InputFile(str(path.relative_to(root)), path.read_bytes())
            for path in sorted(root.rglob("*"))
            if path.is_file()
        ]
    if s3_client is None:
        raise LocationError("No S3 endpoint is configured for the emulator")
    bucket, prefix = _bucket_and_key(uri)
    try:
        keys = [
            item["Key"]
            for result in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for item in result.get("Contents", [])
            if not item["Key"].endswith("/")
        ]
        return [InputFile(key, s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()) for key in keys]
    except s3_client.exceptions.ClientError as error:
        raise LocationError("Input location cannot be read") from error


def write_output(uri: str, relative_path: str, text: str, s3_client: Any | None) -> None:
    """Write `text` at `relative_path` below the directory or prefix `uri` (which ends in '/')."""
    if uri.startswith("file://"):
        target = _file_path(uri) / relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return
    if s3_client is None:
        raise LocationError("No S3 endpoint is configured for the emulator")
    bucket, prefix = _bucket_and_key(uri)
    s3_client.put_object(Bucket=bucket, Key=f"{prefix}{relative_path}", Body=text.encode("utf-8"))
