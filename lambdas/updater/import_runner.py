"""ImportReactionRunner: runs the import reaction for one event and ends it like any request.

A reaction that cannot read the job's output yet (manifests not written, S3 or HealthImaging
hiccups, fan-out failures) is retried through SQS; on the last delivery, or for an event that is
malformed, it ends in a failure event plus a DLQ record with a reason, never silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from updater.adapters.healthimaging import HealthImagingGateway
from updater.adapters.outcomes import FailureQueue, OutcomePublisher
from updater.domain.errors import FailureCode, RetryableServiceError, ServiceError
from updater.imports.corrections import CorrectionsReader
from updater.imports.events import ImportEventInvalid
from updater.imports.fanout import FanoutIncomplete, RequestFanout
from updater.imports.manifests import ImportManifestInvalid, ImportManifestReader, ImportOutputNotFound
from updater.imports.reaction import react_to_import_completed
from updater.imports.rules import RuleSet, load_rules
from updater.settings import UpdaterSettings

IMPORT_SUMMARY_DETAIL_TYPE = "ImportJob.Reacted"
IMPORT_FAILED_DETAIL_TYPE = "ImportJob.ReactionFailed"
# S3 errors (missing bucket, access denied) included: a fix in configuration makes a later delivery work.
_WORTH_RETRYING = (
    ImportOutputNotFound,
    ImportManifestInvalid,
    FanoutIncomplete,
    ServiceError,
    ClientError,
    BotoCoreError,
)


class ImportReactionRunner:
    def __init__(
        self,
        settings: UpdaterSettings,
        *,
        s3: Any,
        sqs: Any,
        gateway: HealthImagingGateway,
        publisher: OutcomePublisher,
        failure_queue: FailureQueue,
    ) -> None:
        self._settings = settings
        self._rules = (
            load_rules(settings.import_rules_path) if settings.import_rules_path else RuleSet(version=1)
        )
        self._s3, self._sqs = s3, sqs
        self._gateway = gateway
        self._publisher = publisher
        self._failures = failure_queue

    def __call__(self, envelope: Mapping[str, Any], *, last_delivery: bool) -> dict[str, object]:
        """The summary published; raises RetryableServiceError when another delivery may succeed."""
        try:
            summary = react_to_import_completed(
                envelope,
                allowed_datastores=self._settings.allowed_datastores,
                manifest_reader=ImportManifestReader(self._s3),
                fetch_metadata=self._gateway.get_metadata,
                rules=self._rules,
                corrections_reader=CorrectionsReader(self._s3),
                fanout=RequestFanout(self._sqs, self._settings.ingest_queue_url),
            )
        except ImportEventInvalid as err:
            return self._fail(envelope, FailureCode.IMPORT_EVENT_INVALID, str(err))
        except _WORTH_RETRYING as err:
            if not last_delivery:
                raise RetryableServiceError(type(err).__name__, "import reaction will be retried") from err
            return self._fail(
                envelope, FailureCode.IMPORT_OUTPUT_UNREADABLE, f"{type(err).__name__} on every delivery"
            )
        detail = summary.wire_dict()
        if not summary.ignored:
            self._publisher.publish_detail(IMPORT_SUMMARY_DETAIL_TYPE, detail)
        return detail

    def _fail(self, envelope: Mapping[str, Any], code: FailureCode, message: str) -> dict[str, object]:
        raw_detail = envelope.get("detail")
        detail_in = raw_detail if isinstance(raw_detail, Mapping) else {}
        detail: dict[str, object] = {
            "jobId": str(detail_in.get("jobId", "")),
            "datastoreId": str(detail_in.get("datastoreId", "")),
            "errorCode": str(code),
            "errorMessage": message,
        }
        self._publisher.publish_detail(IMPORT_FAILED_DETAIL_TYPE, detail)
        self._failures.send(json.dumps(envelope), request_id=None, code=str(code), message=message)
        return detail
