"""Where `local.invoke` points each record: a fresh image set per record, a real import job.

A fresh copy of CT_small.dcm per record that names an image set keeps records independent: a
removal, a revert or a forced UID change never finds what an earlier record left. A selector or
merge sample gets a copy that is the patient or study it names (`seed_sample_identity`), in the
stack `local.invoke` starts itself. The stack
`local.invoke` starts itself imports each copy directly into the emulator (version 1, no event);
a running stack gets them from one real import job, since the emulator lives in another process,
so the stage's import rules run on them before the replay starts.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from local.replay_records import Delivery, LocalIds
from local.samples import SampleImport, describe, import_samples, refreshed, sample_path
from local.stack import LocalStack

REPLAY_SAMPLE = "CT_small.dcm"
REACTION_TIMEOUT_S = 120.0


class ReplayTargets(Protocol):
    def ids_for(self, delivery: Delivery) -> LocalIds: ...


class EmbeddedTargets:
    """For the stack `local.invoke` runs in its own process."""

    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack
        self._job: SampleImport | None = None

    def ids_for(self, delivery: Delivery) -> LocalIds:
        stack = self._stack
        if delivery.is_import_event:
            return LocalIds(stack.datastore_id, import_job=self._import_job())
        if delivery.sample_identity:
            seed_sample_identity(stack, delivery.sample_identity)
            return LocalIds(stack.datastore_id)
        if not delivery.names_an_image_set:
            return LocalIds(stack.datastore_id)
        (image_set_id,) = stack.emulator.service.import_dicom_files(
            stack.datastore_id, [str(sample_path(REPLAY_SAMPLE))]
        )
        image_set = describe(stack.emulator.endpoint_url, stack.datastore_id, image_set_id, REPLAY_SAMPLE)
        return LocalIds(stack.datastore_id, image_set=image_set)

    def _import_job(self) -> SampleImport:
        if self._job is None:
            stack = self._stack
            self._job = import_samples(
                stack.moto.endpoint_url,
                stack.emulator.endpoint_url,
                stack.datastore_id,
                [REPLAY_SAMPLE],
                prefix=f"invoke-{uuid.uuid4().hex[:8]}",
                reidentify=True,
            )
            stack.run_until_idle(REACTION_TIMEOUT_S)  # its own reaction first, before the replayed event
        return self._job


class RunningTargets:
    """For a stack another process runs: the copies come from one import job made up front."""

    def __init__(
        self, running: Any, deliveries: Sequence[Delivery], wait_until_idle: Callable[[float], None]
    ) -> None:
        self._running = running
        self._wait = wait_until_idle
        self._job = SampleImport.from_json(running.samples) if running.samples else None
        needed = sum(1 for delivery in deliveries if delivery.names_an_image_set)
        wants_job = self._job is None and any(delivery.is_import_event for delivery in deliveries)
        self._copies: deque[Any] = deque()
        if needed or wants_job:
            imported = self._import([REPLAY_SAMPLE] * max(needed, 1))
            self._copies.extend(imported.image_sets[:needed])
            self._job = self._job or imported

    def _import(self, samples: list[str]) -> SampleImport:
        running = self._running
        print(
            f"importing {len(samples)} copies of {REPLAY_SAMPLE} into the running stack for this replay ...",
            file=sys.stderr,
        )
        imported = import_samples(
            running.moto_endpoint_url,
            running.healthimaging_endpoint_url,
            running.datastore_id,
            samples,
            prefix=f"invoke-{uuid.uuid4().hex[:8]}",
            reidentify=True,
        )
        self._wait(REACTION_TIMEOUT_S)  # the stage's import rules run on the copies first
        return refreshed(imported, running.healthimaging_endpoint_url)

    def ids_for(self, delivery: Delivery) -> LocalIds:
        datastore_id = self._running.datastore_id
        if delivery.is_import_event:
            return LocalIds(datastore_id, import_job=self._job)
        if delivery.names_an_image_set and self._copies:
            return LocalIds(datastore_id, image_set=self._copies.popleft())
        return LocalIds(datastore_id)


def seed_sample_identity(stack: LocalStack, identity: dict[str, str]) -> str:
    """A copy of CT_small.dcm that is what a selector or merge sample names (its PatientID and
    issuer, or its study, and the values its `expect` states), so the replay finds its patient."""
    from pydicom import dcmread  # noqa: PLC0415  (only replays of such samples need pydicom)
    from pydicom.datadict import keyword_dict  # noqa: PLC0415
    from pydicom.uid import generate_uid  # noqa: PLC0415

    dataset = dcmread(str(sample_path(REPLAY_SAMPLE)))
    for keyword, value in identity.items():
        if keyword_dict.get(keyword) is not None:
            setattr(dataset, keyword, value)
    dataset.SeriesInstanceUID, dataset.SOPInstanceUID = generate_uid(), generate_uid()
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / REPLAY_SAMPLE
        dataset.save_as(path)
        (image_set_id,) = stack.emulator.service.import_dicom_files(
            stack.datastore_id, [str(path)], reidentify=False
        )
    return str(image_set_id)
