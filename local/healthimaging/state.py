"""The emulator's shared state and the lookups every operation needs. All access holds `lock`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from local.healthimaging.behaviour import BehaviourRuntime
from local.healthimaging.clock import Clock
from local.healthimaging.errors import ResourceNotFoundException
from local.healthimaging.events import EventOutbox
from local.healthimaging.records import Datastore, ImageSet, ImportJob


@dataclass
class EmulatorState:
    clock: Clock
    behaviour: BehaviourRuntime
    outbox: EventOutbox
    region: str
    account_id: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    datastores: dict[str, Datastore] = field(default_factory=dict)
    import_jobs: dict[str, ImportJob] = field(default_factory=dict)
    # (datastore id, image set id) of image sets with a write in flight, so settling stays cheap.
    unsettled: set[tuple[str, str]] = field(default_factory=set)

    def datastore(self, datastore_id: str) -> Datastore:
        datastore = self.datastores.get(datastore_id)
        if datastore is None or datastore.status in ("DELETING", "DELETED"):
            raise ResourceNotFoundException(f"Datastore {datastore_id} does not exist")
        return datastore

    def image_set(self, datastore_id: str, image_set_id: str) -> ImageSet:
        image_set = self.datastore(datastore_id).image_sets.get(image_set_id)
        if image_set is None:
            raise ResourceNotFoundException(f"Image set {image_set_id} does not exist")
        return image_set

    def import_job(self, datastore_id: str, job_id: str) -> ImportJob:
        job = self.import_jobs.get(job_id)
        if job is None or job.datastore_id != datastore_id:
            raise ResourceNotFoundException(f"Import job {job_id} does not exist")
        return job

    def datastore_arn(self, datastore_id: str) -> str:
        return f"arn:aws:medical-imaging:{self.region}:{self.account_id}:datastore/{datastore_id}"

    def image_set_arn(self, datastore_id: str, image_set_id: str) -> str:
        return f"{self.datastore_arn(datastore_id)}/imageset/{image_set_id}"
