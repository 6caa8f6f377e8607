"""The baseline: an updater written the way the public HealthImaging examples do it.

Per record: GetImageSet for the latest version, UpdateImageSetMetadata on it, then sleep one second
between GetImageSet polls until the new version leaves LOCKED. No ledger, no pacing, no coalescing,
no conflict handling: any exception fails the whole batch and SQS delivers it again (so the records
already applied in that batch are applied again). boto3's default (legacy) retries absorb what
throttling they can. The only addition is one log line per request seen settled
(`{"naiveCompleted": <requestId>, "at": <epoch seconds>}`), which the benchmark reads from the
function's log streams.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3

POLL_INTERVAL_S = 1.0
COMPLETED_KEY = "naiveCompleted"
_updater: NaiveUpdater | None = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: one default client, built from the environment at the first call."""
    global _updater  # noqa: PLW0603  # built once per execution environment, reused while warm
    if _updater is None:
        _updater = NaiveUpdater(boto3.client("medical-imaging"))
    return _updater.handle(event, context)


def completions(logs: str) -> Iterator[tuple[str, float]]:
    """(request id, when its update was seen settled) from the function's log streams."""
    for line in logs.splitlines():
        if COMPLETED_KEY in line:
            entry = json.loads(line)
            yield entry[COMPLETED_KEY], float(entry["at"])


class NaiveUpdater:
    def __init__(self, client: Any) -> None:
        self._client = client

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            request = json.loads(record["body"])
            self._update(request)
            print(json.dumps({COMPLETED_KEY: request["requestId"], "at": time.time()}), flush=True)
        return {"statusCode": 200}

    def _update(self, request: dict[str, Any]) -> None:
        ids = {"datastoreId": request["datastoreId"], "imageSetId": request["imageSetId"]}
        latest = self._client.get_image_set(**ids)["versionId"]
        document = request["DICOMUpdates"]["updatableAttributes"]
        response = self._client.update_image_set_metadata(
            **ids,
            latestVersionId=latest,
            updateImageSetMetadataUpdates={
                "DICOMUpdates": {"updatableAttributes": json.dumps(document).encode()}
            },
        )
        version = response["latestVersionId"]
        while True:
            time.sleep(POLL_INTERVAL_S)
            state = self._client.get_image_set(**ids, versionId=version)
            if state["imageSetState"] != "LOCKED":
                return
