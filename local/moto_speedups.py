"""Two of moto's hot spots, made cheap for the local stack: the same answers, less CPU.

moto runs in a process of its own (`local.moto_process`), which installs these before it serves
(`local.moto_stack.DEFAULT_PATCHES`). They still matter there: moto answers every SQS, DynamoDB and
EventBridge call on one interpreter, so when its process saturates a core every handler waits on
it. The 600-request chaos soak (`make chaos-quick`) took 198 s with these, moto's process using
97 s of CPU, and 350 s without, moto using 262 s and 11 invocations overrunning their timeout while
waiting on SQS and DynamoDB answers. A profile of the soak when everything shared one process
(py-spy, 60 s) put about a quarter of all samples in moto's SQS clock and one tenth in its routing:
- `Message.visible` / `Message.delayed` read the clock through `unix_time_millis()`, which builds
  two naive datetimes and subtracts them, for every message of a queue on every ReceiveMessage and
  GetQueueAttributes. With hundreds of messages queued that dominates. `time.time()` is the same
  number (seconds since the epoch, UTC) without the datetimes.
- The server's dispatcher lists moto's package directory (`os.listdir` plus an `isdir` for each of
  ~200 entries) on every request, under the dispatcher's global lock. The directory does not change
  while the process runs, so the list is read once.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from datetime import datetime

import moto.backends
import moto.sqs.models

_original_unix_time_millis = moto.sqs.models.unix_time_millis
_original_unix_time = moto.sqs.models.unix_time
_original_list_of_moto_modules = moto.backends.list_of_moto_modules


def _unix_time_millis(dt: datetime | None = None) -> float:
    return time.time() * 1000.0 if dt is None else _original_unix_time_millis(dt)


def _unix_time(dt: datetime | None = None) -> float:
    return time.time() if dt is None else _original_unix_time(dt)


@functools.cache
def _moto_modules() -> frozenset[str]:
    return frozenset(_original_list_of_moto_modules())


def _list_of_moto_modules() -> Iterable[str]:
    return _moto_modules()


def install() -> None:
    """Idempotent: moto's server in this process gets the same, cheaper answers."""
    moto.sqs.models.unix_time_millis = _unix_time_millis  # type: ignore[assignment]
    moto.sqs.models.unix_time = _unix_time  # type: ignore[assignment]
    moto.backends.list_of_moto_modules = _list_of_moto_modules  # type: ignore[assignment]
