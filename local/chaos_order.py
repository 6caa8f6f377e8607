"""Per-image-set order on the FIFO path: the requests a caller sent in order to one image set are
applied in that order (their versions follow the send order; the lane coalesces only consecutive
requests, so two of them may share one version, never swap)."""

from __future__ import annotations

import itertools
from collections import defaultdict

from local.chaos_evidence import Evidence
from local.chaos_results import InvariantResult, result
from local.chaos_workload import Route, Workload


def fifo_requests_applied_in_send_order(workload: Workload, evidence: Evidence) -> InvariantResult:
    versions = {
        o["requestId"]: int(o["toVersionId"])
        for o in evidence.outcomes()
        if o["status"] == "SUCCEEDED" and not o.get("noop") and not o.get("dryRun") and o.get("toVersionId")
    }
    by_image_set: defaultdict[str, list[str]] = defaultdict(list)
    for key in workload.send_order:
        request = workload.by_key()[key]
        if request.route is Route.FIFO and request.image_set_id and key in versions:
            by_image_set[request.image_set_id].append(key)
    problems, pairs = [], 0
    for image_set_id, keys in by_image_set.items():
        for earlier, later in itertools.pairwise(keys):
            pairs += 1
            if versions[later] < versions[earlier]:
                problems.append(
                    f"{image_set_id}: {later} (sent after {earlier}) made version {versions[later]} "
                    f"before {versions[earlier]}"
                )
    detail = f"{sum(map(len, by_image_set.values()))} FIFO requests that made versions, {pairs} ordered pairs"
    return result("per-image-set order on the FIFO path", problems, detail)
