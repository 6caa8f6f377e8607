"""Handler CPU and peak memory per request, against one bare boto3 GetImageSet round trip.

What the handler itself computes for a request (parse the SQS body, decode the gzip metadata
document, validate, plan, serialize the update) is timed with `time.thread_time()`: the CPU of the
calling thread only, so the in-process emulator's server threads and every service's own time are
excluded. The yardstick is the client-side CPU of one `GetImageSet` call to the emulator, measured
the same way in the same run. Peak memory is tracemalloc's peak over the same work.
"""

from __future__ import annotations

import gzip
import json
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.workloads import Workload, create_image_sets, plan_requests
from local.healthimaging import BehaviourProfile, EmulatorServer, medical_imaging_client

REPEATS = 30


@dataclass(frozen=True)
class HandlerCase:
    name: str
    workload: Workload


CASES = (
    HandlerCase("typical", Workload("typical", requests=1, image_sets=1)),
    HandlerCase("document-30kb", Workload("document-30kb", 1, 1, large_documents=True)),
    HandlerCase("image-set-5000", Workload("image-set-5000", 1, 1, instances_per_image_set=5000)),
)


def _thread_cpu_ms(work: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.thread_time()
        work()
        samples.append((time.thread_time() - started) * 1000)
    return statistics.median(samples)


def _peak_bytes(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _handler_work(body: str, metadata_blob: bytes, payload_limit: int) -> Callable[[], object]:
    from updater.domain.inbound import RequestMessage, classify  # noqa: PLC0415  (lambdas/ is put on the path first)
    from updater.domain.planning import plan_update  # noqa: PLC0415
    from updater.domain.validation import validate_request  # noqa: PLC0415

    def work() -> object:
        message = classify(body)
        assert isinstance(message, RequestMessage)
        request = message.request
        failures = validate_request(request, max_payload_bytes=payload_limit, allowed_datastores=frozenset())
        assert not failures, failures
        plan = plan_update(request, json.loads(gzip.decompress(metadata_blob)))
        assert not plan.failures and not plan.noop
        return json.dumps(request.api_updates(), default=str)

    return work


def measure_handler_cost(template: dict[str, Any], repeats: int = REPEATS) -> dict[str, Any]:
    with EmulatorServer(profile=BehaviourProfile.fast()) as emulator:
        service = emulator.service
        datastore_id = service.create_datastore("bench-cpu")
        client = medical_imaging_client(emulator.endpoint_url)
        image_set_id = create_image_sets(service, datastore_id, CASES[0].workload, template)[0]
        client.get_image_set(datastoreId=datastore_id, imageSetId=image_set_id)  # warm the client
        bare_ms = _thread_cpu_ms(
            lambda: client.get_image_set(datastoreId=datastore_id, imageSetId=image_set_id), repeats
        )
        cases = {}
        for case in CASES:
            [target] = create_image_sets(service, datastore_id, case.workload, template)
            [planned] = plan_requests(case.workload, [target], seed=1)
            body = json.dumps(planned.body(datastore_id))
            blob = gzip.compress(json.dumps(service.current_metadata(datastore_id, target)).encode())
            work = _handler_work(body, blob, case.workload.payload_limit_bytes)
            work()  # first call pays for lazy imports and caches, as a warm Lambda already has
            cpu_ms = _thread_cpu_ms(work, repeats if case.workload.instances_per_image_set == 1 else 5)
            cases[case.name] = {
                "cpuMs": round(cpu_ms, 3),
                "ratioToBareGetImageSet": round(cpu_ms / bare_ms, 2),
                "peakMemoryKb": round(_peak_bytes(work) / 1024, 1),
                "requestBytes": len(body),
                "metadataGzipBytes": len(blob),
            }
    return {"bareGetImageSetCpuMs": round(bare_ms, 3), "cases": cases}
