"""The in-memory HealthImaging service: one entry point per operation, no HTTP.

`call(operation, params)` takes and returns the operation's members as botocore's model names
them (blobs as bytes, timestamps as epoch seconds) and raises `ServiceError`s. Every call is
recorded, settles what is due first, passes the behaviour profile's throttles and faults, and
publishes the events it caused once the state lock is released.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydicom

from local.healthimaging import datastore_operations as datastores
from local.healthimaging import image_set_reads as reads
from local.healthimaging import image_set_writes as writes
from local.healthimaging.behaviour import BehaviourRuntime
from local.healthimaging.call_log import CallLog
from local.healthimaging.clock import Clock, RealClock
from local.healthimaging.errors import ServiceError, UnknownOperationException
from local.healthimaging.events import EventOutbox, EventSink, HealthImagingEvent
from local.healthimaging.image_set_copy import copy_image_set
from local.healthimaging.image_set_lifecycle import add_active_image_set, settle_due
from local.healthimaging.import_jobs import ImportJobRunner, get_dicom_import_job, list_dicom_import_jobs
from local.healthimaging.import_locations import InputFile
from local.healthimaging.import_manifests import ImportResult
from local.healthimaging.import_parsing import parse_instances, reidentified
from local.healthimaging.import_placement import place_instances
from local.healthimaging.profile import BehaviourProfile
from local.healthimaging.records import ImageSetVersion, MetadataDocument
from local.healthimaging.search import search_image_sets
from local.healthimaging.state import EmulatorState

Operation = Callable[[EmulatorState, dict[str, Any]], dict[str, Any]]

DEFAULT_ACCOUNT_ID = "123456789012"


class HealthImagingService:
    def __init__(
        self,
        profile: BehaviourProfile | None = None,
        clock: Clock | None = None,
        region: str = "us-east-1",
        account_id: str = DEFAULT_ACCOUNT_ID,
        s3_client: Any | None = None,
        event_sink: EventSink | None = None,
        event_bus_name: str = "default",
    ) -> None:
        self.clock: Clock = clock or RealClock()
        self.behaviour = BehaviourRuntime(profile or BehaviourProfile(), self.clock)
        self.call_log = CallLog()
        self._state = EmulatorState(
            self.clock, self.behaviour, EventOutbox(event_sink, event_bus_name), region, account_id
        )
        self._imports = ImportJobRunner(self._state, s3_client, self._state.outbox.flush)
        self._operations: dict[str, Operation] = {
            "CreateDatastore": datastores.create_datastore,
            "GetDatastore": datastores.get_datastore,
            "ListDatastores": datastores.list_datastores,
            "DeleteDatastore": datastores.delete_datastore,
            "TagResource": datastores.tag_resource,
            "UntagResource": datastores.untag_resource,
            "ListTagsForResource": datastores.list_tags_for_resource,
            "StartDICOMImportJob": lambda _state, params: self._imports.start(params),
            "GetDICOMImportJob": get_dicom_import_job,
            "ListDICOMImportJobs": list_dicom_import_jobs,
            "GetImageSet": reads.get_image_set,
            "GetImageSetMetadata": reads.get_image_set_metadata,
            "GetImageFrame": reads.get_image_frame,
            "ListImageSetVersions": reads.list_image_set_versions,
            "SearchImageSets": search_image_sets,
            "UpdateImageSetMetadata": writes.update_image_set_metadata,
            "CopyImageSet": copy_image_set,
            "DeleteImageSet": writes.delete_image_set,
        }

    @property
    def operation_names(self) -> list[str]:
        return sorted(self._operations)

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = self._operations.get(operation)
        try:
            if handler is None:
                raise UnknownOperationException(f"{operation} is not supported by the emulator")
            self.settle_due()
            self.behaviour.admit(operation)
            with self._state.lock:
                result = handler(self._state, params)
        except ServiceError as error:
            self.call_log.record(operation, self.clock.now(), error.code)
            raise
        finally:
            self._state.outbox.flush()
        self.call_log.record(operation, self.clock.now(), None)
        return result

    def settle_due(self) -> None:
        """Finalize every write whose settle time has passed (the server's ticker calls this too)."""
        with self._state.lock:
            datastores.settle_datastores(self._state)
            settle_due(self._state)
        self._state.outbox.flush()

    # Conveniences for fixtures and invariant checks: no HTTP, no call log, no throttles.

    @property
    def profile(self) -> BehaviourProfile:
        return self.behaviour.profile

    def set_profile(self, profile: BehaviourProfile) -> None:
        self.behaviour.set_profile(profile)

    def create_datastore(self, name: str) -> str:
        """An ACTIVE data store at once (CREATING is skipped, its events are still published)."""
        with self._state.lock:
            created = datastores.create_datastore(self._state, {"datastoreName": name})
            self._state.datastores[created["datastoreId"]].transition_deadline = self.clock.now()
            datastores.settle_datastores(self._state)
        self._state.outbox.flush()
        return str(created["datastoreId"])

    def seed_image_set(
        self,
        datastore_id: str,
        metadata_document: MetadataDocument,
        *,
        is_primary: bool = True,
        announce: bool = True,
    ) -> str:
        """Version 1, ACTIVE/CREATED, holding `metadata_document` (ids and SchemaVersion stamped);
        `announce=False` keeps `Image Set Created` (and so the stack's import rules) out of it."""
        with self._state.lock:
            datastore = self._state.datastore(datastore_id)
            image_set = add_active_image_set(
                self._state, datastore, metadata_document, is_primary, announce=announce
            )
        self._state.outbox.flush()
        return image_set.image_set_id

    def import_dicom_files(
        self, datastore_id: str, paths: list[str], *, reidentify: bool = True, announce: bool = False
    ) -> list[str]:
        """Import synchronously; unreadable files are skipped. Returns the image sets created or matched.

        A seeding shortcut, not an import job: the new image sets are not announced as `Image Set
        Created` unless `announce` (the stack's import rules react to that event, and a test's
        fixture would otherwise change under it). Import jobs always announce.

        By default every call re-identifies its series and instances (fresh Series and SOP Instance
        UIDs, the Study kept), so importing one sample file N times gives N new primary image sets.
        `reidentify=False` imports the files as they are, under the import job's re-import rules.
        """
        files = [InputFile(Path(p).name, Path(p).read_bytes()) for p in paths]
        with self._state.lock:
            storage_format = self._state.datastore(datastore_id).lossless_storage_format
        instances = parse_instances(files, ImportResult(scanned=len(files)), storage_format)
        if reidentify:
            instances = reidentified(instances)
        with self._state.lock:
            datastore = self._state.datastore(datastore_id)
            placements, _ = place_instances(self._state, datastore, instances, announce=announce)
        self._state.outbox.flush()
        return list(dict.fromkeys(p.image_set.image_set_id for p in placements))

    def version_history(self, datastore_id: str, image_set_id: str) -> list[ImageSetVersion]:
        """Snapshots of every version, oldest first, after settling what is due."""
        self.settle_due()
        with self._state.lock:
            return [v.snapshot() for v in self._state.image_set(datastore_id, image_set_id).versions]

    def current_metadata(self, datastore_id: str, image_set_id: str) -> MetadataDocument:
        self.settle_due()
        with self._state.lock:
            return copy.deepcopy(self._state.image_set(datastore_id, image_set_id).latest.document)

    def image_set_ids(self, datastore_id: str) -> list[str]:
        with self._state.lock:
            return list(self._state.datastore(datastore_id).image_sets)

    def published_events(self, detail_type: str | None = None) -> list[HealthImagingEvent]:
        return self._state.outbox.published(detail_type)


def read_dataset(path: str) -> pydicom.Dataset:
    """Read a DICOM file the way the importer does (for tests that build expectations)."""
    return pydicom.dcmread(io.BytesIO(Path(path).read_bytes()))
