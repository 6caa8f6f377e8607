"""Event files as the records `python -m local.invoke` sends, pointed at local image sets.

A file holds an SQS event (`{"Records": [...]}`), an EventBridge event, an UpdateRequest (native or
CLI input) or a JSON list of those. An SQS record's body is kept as text when it is not a JSON
object, so a broken body reaches the stack as it is and ends in its rejection.

Sample files name data stores, image sets, series and instances of another account. Pointing a
record at a local image set replaces only what is well formed: a datastoreId or imageSetId that
matches `[0-9a-z]{32}`, Series and Instances keys that are DICOM UIDs, a version pin (it becomes
the image set's current version), an import event's job; a well-formed requestId gets a suffix, so
a replayed file is a new request each time. A malformed id is what a bad sample is about, so it
stays as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from local.command_line import UserError, read_json_file
from local.moto_stack import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.samples import SampleImageSet, SampleImport

ID = re.compile(r"^[0-9a-z]{32}$")
UID = re.compile(r"^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$")
VERSION = re.compile(r"^\d+$")
REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
IMPORT_COMPLETED = "Import Job Completed"
DOCUMENT_NAMES = ("updatableAttributes", "removableAttributes")


@dataclass(frozen=True)
class Delivery:
    """One record of an event file, as it enters the stack."""

    source: str
    kind: str  # "request", "sqs", "eventbridge"
    body: dict[str, Any] | str  # text: an SQS body that is not a JSON object, sent unchanged
    fifo: bool = False
    group_id: str | None = None

    @property
    def is_import_event(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("detail-type") == IMPORT_COMPLETED

    @property
    def names_an_image_set(self) -> bool:
        request = _request_of(self.body)
        return request is not None and bool(ID.match(str(request.get("imageSetId", ""))))

    @property
    def sample_identity(self) -> dict[str, str]:
        """What a selector or merge sample assumes the data store holds: the patient or study it
        names, and the values its `expect` says are there ({} for any other record)."""
        request = _request_of(self.body) or {}
        selector = request.get("selector") if isinstance(request.get("selector"), dict) else {}
        merge = request.get("merge") if isinstance(request.get("merge"), dict) else {}
        named = [selector.get("patient"), selector.get("study"), merge.get("from")]
        identity = {k: str(v) for part in named if isinstance(part, dict) for k, v in part.items()}
        expect = request.get("expect") if isinstance(request.get("expect"), dict) else {}
        for level in ("Patient", "Study"):
            values = expect.get(level)
            if identity and isinstance(values, dict):
                identity |= {k: str(v) for k, v in values.items()}
        return identity


@dataclass(frozen=True)
class LocalIds:
    """What a record is pointed at: the local data store, a local image set, a local import job."""

    datastore_id: str
    image_set: SampleImageSet | None = None
    import_job: SampleImport | None = None


def read_deliveries(path: Path) -> Iterator[Delivery]:
    document = read_json_file(path, "event file")
    for index, item in enumerate(document if isinstance(document, list) else [document]):
        source = f"{path}#{index}"
        if not isinstance(item, dict):
            raise UserError(f"{source}: not an event, a request or an SQS event (a JSON object)")
        if "Records" in item:
            yield from _sqs_records(source, item["Records"])
        elif "detail-type" in item:
            yield Delivery(source, "eventbridge", item)
        else:
            yield Delivery(source, "request", item)


def _sqs_records(source: str, records: Any) -> Iterator[Delivery]:
    if not isinstance(records, list):
        raise UserError(f"{source}: Records must be a list of SQS records")
    for number, record in enumerate(records):
        if not isinstance(record, dict) or not isinstance(record.get("body"), str):
            raise UserError(f"{source}.{number}: an SQS record needs a body (text)")
        fifo = str(record.get("eventSourceARN", "")).endswith(".fifo")
        group = (record.get("attributes") or {}).get("MessageGroupId")
        yield Delivery(f"{source}.{number}", "sqs", _parsed_body(record["body"]), fifo, group)


def _parsed_body(text: str) -> dict[str, Any] | str:
    try:
        document = json.loads(text)
    except ValueError:
        return text
    return document if isinstance(document, dict) else text


def pointed_at(delivery: Delivery, ids: LocalIds) -> Delivery:
    """The delivery with its well-formed ids replaced by local ones."""
    body = delivery.body
    if not isinstance(body, dict):
        return delivery
    if delivery.is_import_event and ids.import_job is not None:
        return replace(delivery, body=_import_event_pointed_at(body, ids.import_job))
    if isinstance(body.get("detail"), dict):
        return replace(delivery, body={**body, "detail": _request_pointed_at(body["detail"], ids)})
    return replace(delivery, body=_request_pointed_at(body, ids))


def _request_of(body: dict[str, Any] | str) -> dict[str, Any] | None:
    if not isinstance(body, dict):
        return None
    detail = body.get("detail")
    return detail if isinstance(detail, dict) else body


def _request_pointed_at(request: dict[str, Any], ids: LocalIds) -> dict[str, Any]:
    pointed = dict(request)
    if ID.match(str(pointed.get("datastoreId", ""))):
        pointed["datastoreId"] = ids.datastore_id
    image_set = ids.image_set
    if image_set is None:
        return pointed
    if ID.match(str(pointed.get("imageSetId", ""))):
        pointed["imageSetId"] = image_set.image_set_id
    for pin in ("expectedVersionId", "latestVersionId"):  # the sample's version is its own image set's
        if VERSION.match(str(pointed.get(pin, ""))):
            pointed[pin] = image_set.version_id
    request_id = pointed.get("requestId")
    if isinstance(request_id, str) and REQUEST_ID.match(request_id):
        # A new request each replay: the same requestId again would only replay its stored outcome.
        pointed["requestId"] = f"{request_id[:110]}~{image_set.image_set_id[:8]}"
    for holder in ("DICOMUpdates", "updateImageSetMetadataUpdates"):
        if isinstance(pointed.get(holder), dict):
            pointed[holder] = _updates_pointed_at(pointed[holder], image_set)
    return pointed


def _updates_pointed_at(updates: dict[str, Any], image_set: SampleImageSet) -> dict[str, Any]:
    pointed = dict(updates)
    if isinstance(pointed.get("DICOMUpdates"), dict):  # the CLI shape nests one more level
        pointed["DICOMUpdates"] = _updates_pointed_at(pointed["DICOMUpdates"], image_set)
    for name in DOCUMENT_NAMES:
        document = pointed.get(name)
        if isinstance(document, dict):
            pointed[name] = _document_pointed_at(document, image_set)
        elif isinstance(document, str):
            try:
                parsed = json.loads(document)
            except ValueError:
                continue  # not JSON text (a bad sample, or base64): sent unchanged
            if isinstance(parsed, dict):
                pointed[name] = json.dumps(_document_pointed_at(parsed, image_set))
    return pointed


def _document_pointed_at(document: dict[str, Any], image_set: SampleImageSet) -> dict[str, Any]:
    study = document.get("Study")
    if not isinstance(study, dict) or not isinstance(study.get("Series"), dict):
        return document
    instance_uid = image_set.instance_uids[0] if image_set.instance_uids else None
    series = {}
    for key, level in study["Series"].items():
        if isinstance(level, dict) and isinstance(level.get("Instances"), dict) and instance_uid:
            instances = {_local_uid(k, instance_uid): v for k, v in level["Instances"].items()}
            level = {**level, "Instances": instances}  # noqa: PLW2901
        series[_local_uid(key, image_set.series_uid)] = level
    return {**document, "Study": {**study, "Series": series}}


def _local_uid(key: str, local_uid: str) -> str:
    return local_uid if len(key) <= 64 and UID.match(key) else key


def _import_event_pointed_at(event: dict[str, Any], job: SampleImport) -> dict[str, Any]:
    detail = dict(event.get("detail") or {})
    if ID.match(str(detail.get("datastoreId", ""))):
        detail["datastoreId"] = job.datastore_id
    if ID.match(str(detail.get("jobId", ""))):
        detail["jobId"] = job.job_id
    detail |= {"inputS3Uri": job.input_s3_uri, "outputS3Uri": job.output_s3_uri}
    arn = f"arn:aws:medical-imaging:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:datastore/{job.datastore_id}"
    return {
        **event,
        "account": LOCAL_ACCOUNT_ID,
        "region": LOCAL_REGION,
        "resources": [arn],
        "detail": detail,
    }
