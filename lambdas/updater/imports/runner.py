"""ImportReactionRunner: runs the import reaction for one `Import Job Completed` event.

A reaction that cannot read the job's output yet (manifests not written, S3 or HealthImaging
hiccups) raises RetryableServiceError, and SQS delivers the event again; when its deliveries run out,
the finalizer calls `give_up`, which ends it with a failure event and a failure record, never
silently. A malformed event, or one for a data store out of scope, ends at once. Planned requests
are forwarded through intake, so they are validated, recorded and laned like any other request.

A failure's event and record name the job and data store only when their ids match their pattern
(by fingerprint otherwise): an invalid event's fields are the sender's text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from updater.domain.errors import FailureCode, RetryableServiceError, ServiceError
from updater.domain.identifiers import reported_resource_id
from updater.domain.intake import RequestForwarder
from updater.domain.ports import FailureSink, MetricsSink, OutcomeSink
from updater.imports.events import (
    IgnoredReason,
    ImportEventIgnored,
    ImportEventInvalid,
    parse_import_job_completed,
)
from updater.imports.image_set_created import (
    IMAGE_SET_CREATED,
    parse_image_set_created,
    plan_created_image_set,
)
from updater.imports.manifests import ImportManifestInvalid, ImportOutputNotFound
from updater.imports.reaction import CorrectionsSource, ManifestSource, react_to_import_completed
from updater.imports.rules import RuleSet

IMPORT_SUMMARY_DETAIL_TYPE = "ImportJob.Reacted"
IMPORT_FAILED_DETAIL_TYPE = "ImportJob.ReactionFailed"
# S3 errors (missing bucket, access denied) included: a fix in configuration makes a later delivery work.
_WORTH_RETRYING = (ImportOutputNotFound, ImportManifestInvalid, ServiceError, ClientError, BotoCoreError)


class ImportReactionRunner:
    def __init__(
        self,
        *,
        rules: RuleSet,
        allowed_datastores: frozenset[str],
        manifests: ManifestSource,
        corrections: CorrectionsSource,
        fetch_metadata: Callable[..., Mapping[str, Any]],
        events: OutcomeSink,
        failures: FailureSink,
        metrics: MetricsSink,
    ) -> None:
        self._rules = rules
        self._allowed = allowed_datastores
        self._manifests = manifests
        self._corrections = corrections
        self._fetch_metadata = fetch_metadata
        self._events = events
        self._failures = failures
        self._metrics = metrics

    def react(self, envelope: Mapping[str, Any], forward: RequestForwarder) -> None:
        if envelope.get("detail-type") == IMAGE_SET_CREATED:
            self._react_to_created(envelope, forward)
            return
        try:
            summary = react_to_import_completed(
                envelope,
                allowed_datastores=self._allowed,
                manifest_reader=self._manifests,
                fetch_metadata=self._fetch_metadata,
                rules=self._rules,
                corrections_reader=self._corrections,
                fanout=forward,
            )
        except ImportEventInvalid as err:
            self._fail(envelope, FailureCode.IMPORT_EVENT_INVALID, str(err))
            return
        except _WORTH_RETRYING as err:
            raise RetryableServiceError(type(err).__name__, "import reaction will be retried") from err
        if summary.ignored_reason is IgnoredReason.DATASTORE_NOT_ALLOWED:
            # Only a misrouted or forged event gets here (the rule takes this stage's data stores).
            self._fail(envelope, FailureCode.EVENT_OUT_OF_SCOPE, "the event is for a data store out of scope")
        elif summary.ignored_reason is IgnoredReason.JOB_NOT_COMPLETED:
            self._metrics.count("ImportJobNotCompleted")
        elif not summary.ignored:
            self._events.publish_detail(IMPORT_SUMMARY_DETAIL_TYPE, summary.wire_dict())

    def _react_to_created(self, envelope: Mapping[str, Any], forward: RequestForwarder) -> None:
        """One image set's rules; no summary event (the job's reaction publishes the summary)."""
        try:
            created = parse_image_set_created(envelope)
        except ImportEventInvalid as err:
            self._fail(envelope, FailureCode.IMPORT_EVENT_INVALID, str(err))
            return
        if created is None:
            self._metrics.count("Ignored", reason="IMAGE_SET_NOT_CREATED")
            return
        if self._allowed and created.datastore_id not in self._allowed:
            self._fail(envelope, FailureCode.EVENT_OUT_OF_SCOPE, "the event is for a data store out of scope")
            return
        try:
            plan = plan_created_image_set(created, fetch_metadata=self._fetch_metadata, rules=self._rules)
        except _WORTH_RETRYING as err:
            raise RetryableServiceError(type(err).__name__, "image set reaction will be retried") from err
        if plan.requests:
            forward.send(plan.requests)

    def give_up(self, envelope: Mapping[str, Any]) -> None:
        """The event's deliveries ran out: its job's output stayed unreadable (or forwarding failing).
        An event that never had a chance (malformed, or out of scope) says so instead."""
        if envelope.get("detail-type") == IMAGE_SET_CREATED:
            # Its ids were read on the first delivery (bad ones ended it then): its metadata stayed
            # out of reach.
            self._fail(
                envelope, FailureCode.IMPORT_OUTPUT_UNREADABLE, "the reaction failed on every delivery"
            )
            return
        try:
            parsed = parse_import_job_completed(envelope, self._allowed)
        except ImportEventInvalid as err:
            self._fail(envelope, FailureCode.IMPORT_EVENT_INVALID, str(err))
            return
        if isinstance(parsed, ImportEventIgnored) and parsed.reason is IgnoredReason.DATASTORE_NOT_ALLOWED:
            self._fail(envelope, FailureCode.EVENT_OUT_OF_SCOPE, "the event is for a data store out of scope")
            return
        self._fail(envelope, FailureCode.IMPORT_OUTPUT_UNREADABLE, "the reaction failed on every delivery")

    def _fail(self, envelope: Mapping[str, Any], code: FailureCode, message: str) -> None:
        raw_detail = envelope.get("detail")
        detail_in = raw_detail if isinstance(raw_detail, Mapping) else {}
        detail: dict[str, object] = {
            "jobId": reported_resource_id(detail_in.get("jobId")),
            "datastoreId": reported_resource_id(detail_in.get("datastoreId")),
            "errorCode": str(code),
            "errorMessage": message,
        }
        if code is not FailureCode.EVENT_OUT_OF_SCOPE:
            self._metrics.count("ImportFailed")
        self._metrics.count("FailedByReason", reason=str(code))
        # The record first: the event is published only once SQS has taken the record.
        self._failures.send(json.dumps(envelope), request_id=None, code=str(code), message=message)
        self._events.publish_detail(IMPORT_FAILED_DETAIL_TYPE, detail)
