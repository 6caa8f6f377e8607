"""The path of one update request through the updater, measured by running it.

    python -m bench.request_path [--out bench/out/request-path.json]

Starts the local stack with its handlers in this process, sends one warm-up request and then one
measured happy-path update (a PatientName change) to the standard ingest queue, and records while
the measured one runs:

* every Python call inside `lambdas/updater/` (a profile hook on every thread): the files entered
  and the file-to-file hops (a call whose nearest updater caller sits in another file);
* every AWS API call the updater's code makes (by service and operation), from a hook on botocore;
* the Lambda invocations of each function.

The same command measures any shape of the updater, so before/after figures compare like with like.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
UPDATER_ROOT = str(REPO_ROOT / "lambdas" / "updater") + "/"


class PathTrace:
    """Calls between files of the updater package, from a `sys.setprofile` hook."""

    def __init__(self) -> None:
        self.files: Counter[str] = Counter()
        self.hops: Counter[tuple[str, str]] = Counter()
        self.aws_calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.active = False

    def profile(self, frame: FrameType, event: str, _arg: Any) -> None:
        if not self.active or event != "call":
            return
        callee = frame.f_code.co_filename
        if not callee.startswith(UPDATER_ROOT):
            return
        caller = frame.f_back
        while caller is not None and not caller.f_code.co_filename.startswith(UPDATER_ROOT):
            caller = caller.f_back
        name = callee[len(UPDATER_ROOT) :]
        with self._lock:
            self.files[name] += 1
            if caller is not None and caller.f_code.co_filename != callee:
                self.hops[(caller.f_code.co_filename[len(UPDATER_ROOT) :], name)] += 1

    def aws_call(self, service: str, operation: str) -> None:
        if not self.active:
            return
        frame: FrameType | None = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_filename.startswith(UPDATER_ROOT):
                with self._lock:
                    self.aws_calls[f"{service}.{operation}"] += 1
                return
            frame = frame.f_back


def _hook_botocore(trace: PathTrace) -> None:
    from botocore.client import BaseClient  # noqa: PLC0415

    original = BaseClient._make_api_call

    def counted(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        trace.aws_call(self.meta.service_model.service_name, operation_name)
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counted  # type: ignore[method-assign]


def _request(datastore_id: str, image_set_id: str, request_id: str, name: str) -> dict[str, Any]:
    return {
        "datastoreId": datastore_id,
        "imageSetId": image_set_id,
        "requestId": request_id,
        "DICOMUpdates": {
            "updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientName": name}}}
        },
    }


def measure(out: Path | None) -> dict[str, Any]:
    sys.path.insert(0, str(REPO_ROOT / "lambdas"))
    from local.healthimaging.profile import BehaviourProfile, SettleTime  # noqa: PLC0415
    from local.scenario import import_image_set, submit_and_wait  # noqa: PLC0415
    from local.stack import LocalStack, LocalStackOptions  # noqa: PLC0415

    trace = PathTrace()
    _hook_botocore(trace)
    options = LocalStackOptions(
        name_prefix=f"path{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=30,
        function_timeout_s=30,
        workers=1,
        emulator_profile=BehaviourProfile(settle=SettleTime(median_seconds=0.3, p99_seconds=0.6)),
        extra_environment={"UPDATE_RATE_PER_SECOND": "10", "UPDATE_BURST": "40"},
        **_in_process_option(LocalStackOptions),
    )
    threading.setprofile(trace.profile)
    sys.setprofile(trace.profile)
    with LocalStack(options) as stack:
        image_set = import_image_set(stack, "CT_small.dcm")
        warm = submit_and_wait(stack, _request(stack.datastore_id, image_set, "path-warm", "WARM^UP"))
        before = _invocations(stack)
        trace.active = True
        started = time.monotonic()
        outcome = submit_and_wait(stack, _request(stack.datastore_id, image_set, "path-one", "PATH^ONE"))
        elapsed = time.monotonic() - started
        trace.active = False
        invocations = _invocations(stack) - before
    sys.setprofile(None)
    threading.setprofile(None)  # type: ignore[arg-type]
    report = {
        "warmUpStatus": warm["status"],
        "status": outcome["status"],
        "filesEntered": len(trace.files),
        "files": sorted(trace.files),
        "fileToFileHops": sum(trace.hops.values()),
        "distinctHops": len(trace.hops),
        "hops": {f"{a} -> {b}": n for (a, b), n in trace.hops.most_common()},
        "awsCalls": dict(sorted(trace.aws_calls.items())),
        "dynamodbCalls": sum(n for k, n in trace.aws_calls.items() if k.startswith("dynamodb.")),
        "healthImagingCalls": sum(n for k, n in trace.aws_calls.items() if k.startswith("medical-imaging.")),
        "lambdaInvocations": dict(invocations),
        "seconds": round(elapsed, 2),
    }
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return report


def _in_process_option(options_type: type) -> dict[str, Any]:
    """Handlers must run in this process for the profile hook to see them."""
    fields = getattr(options_type, "__dataclass_fields__", {})
    return {"in_process": True} if "in_process" in fields else {}


def _invocations(stack: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    for poller in stack.pollers:
        name = getattr(poller.settings, "function_name", "function")
        counts[name] += len(poller.invocations)
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.request_path", description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "out" / "request-path.json")
    args = parser.parse_args(argv)
    report = measure(args.out)
    print(json.dumps({k: v for k, v in report.items() if k not in ("files", "hops")}, indent=1))
    print("files:", ", ".join(report["files"]))


if __name__ == "__main__":
    main()
