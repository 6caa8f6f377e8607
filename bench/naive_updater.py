"""The baseline: an updater written the way the public HealthImaging examples do it.

Per record: GetImageSet for the latest version, UpdateImageSetMetadata on it, then sleep one second
between GetImageSet polls until the new version leaves LOCKED. No ledger, no pacing, no coalescing,
no conflict handling: any exception fails the whole batch and SQS delivers it again (so the records
already applied in that batch are applied again). boto3's default (legacy) retries absorb what
throttling they can. The only addition is `completions`, which the benchmark reads.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

POLL_INTERVAL_S = 1.0


class NaiveUpdater:
    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.completions: dict[str, float] = {}  # request id -> when its update was seen settled

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            request = json.loads(record["body"])
            self._update(request)
            with self._lock:
                self.completions.setdefault(request["requestId"], time.time())
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
