"""The calls moto's processes answered, by operation: `python -m bench --count-moto-calls`.

Installed in each moto process (`LocalStackOptions.moto_patches`), it counts every request by its
operation (the `X-Amz-Target` header: DynamoDB, SQS, EventBridge; S3's by method) and whether it
succeeded; a DynamoDB write is told apart by its update expression (the ledger's and the pacer's
writes, which are the updater's own schema, never a value) and its condition, so that which write
a step makes how often can be read. Every half second each process writes its counts to
`<BENCH_MOTO_CALL_COUNTS>-<pid>.json`; the bench sums the files after the run. The counts were what
showed the pacer's compare-and-swap costing 4.2 writes per reservation (bench/ANALYSIS.md).
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

PREFIX_VARIABLE = "BENCH_MOTO_CALL_COUNTS"
DUMP_EVERY_S = 0.5
_counts: Counter[str] = Counter()
_lock = threading.Lock()


def operation(environ: dict[str, Any]) -> str:
    """`environ`'s operation; reads (and puts back) a DynamoDB request's body for its expressions."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if not target:
        return f"S3 {environ.get('REQUEST_METHOD', '?')}"
    service, _, action = str(target).partition(".")
    name = f"{service.split('_')[0]} {action}"
    if service.startswith("DynamoDB") and action == "UpdateItem":
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(raw)
        body = json.loads(raw or b"{}")
        name += f" [{body.get('UpdateExpression', '')}] if [{body.get('ConditionExpression', '')}]"
    return name


def install() -> None:
    prefix = os.environ.get(PREFIX_VARIABLE)
    if not prefix or getattr(DomainDispatcherApplication.__call__, "counted", False):
        return
    answer: Callable[..., Iterable[bytes]] = DomainDispatcherApplication.__call__

    def counted(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
        name = operation(environ)
        status: list[str] = []

        def start(code: str, headers: Any, *rest: Any) -> Any:
            status.append(code[:3])
            return start_response(code, headers, *rest)

        result = answer(self, environ, start)
        with _lock:
            _counts[f"{name} -> {status[0] if status else '?'}"] += 1
        return result

    counted.counted = True  # type: ignore[attr-defined]
    DomainDispatcherApplication.__call__ = counted  # type: ignore[method-assign]
    path = Path(f"{prefix}-{os.getpid()}.json")
    threading.Thread(target=_dump_forever, args=(path,), daemon=True).start()


def _dump_forever(path: Path) -> None:
    while True:
        time.sleep(DUMP_EVERY_S)
        with _lock:
            counts = dict(_counts)
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(counts))
        partial.replace(path)


def read_counts(prefix: Path) -> dict[str, int]:
    """The processes' counts summed, busiest first."""
    total: Counter[str] = Counter()
    for path in prefix.parent.glob(f"{prefix.name}-*.json"):
        total.update(json.loads(path.read_text()))
    return dict(total.most_common())


class CallCounts:
    """The counts of one run's moto processes, read from the bench's side."""

    def __init__(self, prefix: Path) -> None:
        self.prefix = prefix

    def read(self) -> dict[str, int]:
        time.sleep(2 * DUMP_EVERY_S)  # every process has written what it counted until now
        return read_counts(self.prefix)

    def since(self, before: dict[str, int]) -> dict[str, int]:
        after = self.read()
        return {name: n - before.get(name, 0) for name, n in after.items() if n > before.get(name, 0)}
