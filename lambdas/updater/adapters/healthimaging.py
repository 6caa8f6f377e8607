"""HealthImagingGateway: the only code that talks to the `medical-imaging` API."""

from __future__ import annotations

import copy
import gzip
import json
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from updater.adapters.read_budget import ReadBudget
from updater.domain.errors import RetryableServiceError, error_from_aws
from updater.domain.image_set import ImageSetVersion

VERSIONS_KEPT = 16  # version documents kept per execution environment


@contextmanager
def _mapped_errors() -> Iterator[None]:
    try:
        yield
    except ClientError as err:
        error = err.response.get("Error", {})
        raise error_from_aws(str(error.get("Code", "Unknown")), str(error.get("Message", ""))) from err
    except BotoCoreError as err:  # connection resets, read timeouts: worth another try later
        raise RetryableServiceError(type(err).__name__, "transport error") from err


class HealthImagingGateway:
    def __init__(
        self,
        client: Any,
        on_retries: Callable[[str, int], None] | None = None,
        *,
        update_client: Any = None,
        read_budget: ReadBudget | None = None,
    ) -> None:
        """`on_retries(operation, n)` hears of the SDK's own retries (throttles absorbed client-side).
        `update_client` (default: `client`) makes the update calls; the runtime gives it no retries.
        `read_budget` paces the reads to the updater's share of the account's read quotas."""
        self._client = client
        self._update_client = update_client or client
        self._on_retries = on_retries or (lambda _operation, _retries: None)
        self._budget = read_budget
        # A version's document never changes: the plan's read serves the audit record's "before"
        # values and later rounds on the same version, in this execution environment.
        self._versions: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()

    def _call(self, operation: str, method: Callable[..., Any], params: dict[str, Any]) -> Any:
        if self._budget is not None:
            self._budget.take(operation)
        with _mapped_errors():
            answer = method(**params)
        retries = int(answer.get("ResponseMetadata", {}).get("RetryAttempts", 0))
        if retries:
            self._on_retries(operation, retries)
        return answer

    def get_image_set(
        self, datastore_id: str, image_set_id: str, version_id: str | None = None
    ) -> ImageSetVersion:
        params: dict[str, Any] = {"datastoreId": datastore_id, "imageSetId": image_set_id}
        if version_id is not None:
            params["versionId"] = version_id
        answer = self._call("GetImageSet", self._client.get_image_set, params)
        return ImageSetVersion(
            version_id=answer["versionId"],
            state=answer["imageSetState"],
            workflow_status=answer.get("imageSetWorkflowStatus"),
            message=answer.get("message"),
            forced=bool((answer.get("overrides") or {}).get("forced", False)),
            is_primary=answer.get("isPrimary"),
        )

    def get_metadata(
        self, datastore_id: str, image_set_id: str, version_id: str | None = None
    ) -> dict[str, Any]:
        key = (datastore_id, image_set_id, version_id) if version_id is not None else None
        if key is not None and key in self._versions:
            self._versions.move_to_end(key)
            return copy.deepcopy(self._versions[key])
        params: dict[str, Any] = {"datastoreId": datastore_id, "imageSetId": image_set_id}
        if version_id is not None:
            params["versionId"] = version_id
        answer = self._call("GetImageSetMetadata", self._client.get_image_set_metadata, params)
        with _mapped_errors():  # the body streams after the call returned
            blob = answer["imageSetMetadataBlob"].read()
        # botocore does not undo the service's gzip content encoding.
        if answer.get("contentEncoding") == "gzip" or blob[:2] == b"\x1f\x8b":
            blob = gzip.decompress(blob)
        document: dict[str, Any] = json.loads(blob)
        if key is not None:
            self._versions[key] = copy.deepcopy(document)
            while len(self._versions) > VERSIONS_KEPT:
                self._versions.popitem(last=False)
        return document

    def search_image_sets(self, params: dict[str, Any]) -> dict[str, Any]:
        """One page of SearchImageSets (adapters.image_set_search pages and reads it)."""
        answer: dict[str, Any] = self._call("SearchImageSets", self._client.search_image_sets, params)
        return answer

    def update(
        self,
        datastore_id: str,
        image_set_id: str,
        *,
        latest_version_id: str,
        updates: dict[str, Any],
        force: bool,
        include_study_image_sets: bool,
    ) -> ImageSetVersion:
        params: dict[str, Any] = {
            "datastoreId": datastore_id,
            "imageSetId": image_set_id,
            "latestVersionId": latest_version_id,
            "updateImageSetMetadataUpdates": updates,
        }
        if force:
            params["force"] = True
        if include_study_image_sets:
            params["includeStudyImageSets"] = True
        answer = self._call("UpdateImageSetMetadata", self._update_client.update_image_set_metadata, params)
        return ImageSetVersion(
            version_id=answer["latestVersionId"],
            state=answer["imageSetState"],
            workflow_status=answer.get("imageSetWorkflowStatus"),
            message=answer.get("message"),
            forced=force,
        )
