"""A long poll in moto's SQS that returns when a message becomes receivable, as SQS's does.

moto's `receive_message` scans the queue, then waits on a condition that only a *send* notifies
(`Queue.wait_for_messages`), and gives up when its wait time is over without scanning again. Two
consequences the bench would otherwise measure as the updater's:

- a message that becomes visible again (a lane wait ending, a `ChangeMessageVisibility` to 0) is
  not seen by a receive already waiting: it goes to the next receive, up to the whole wait (1 s,
  the local pollers' long poll) later;
- on a FIFO queue whose visible messages all belong to groups in flight (an image set's later
  requests behind its waiting head), the condition's predicate ("any visible message") is true at
  once, so the receive spins, scanning the queue without pause for its whole wait. With
  `local.moto_sqs_receive` holding a per-queue lock around each receive (one receiver at a time,
  as SQS hands a group to one receiver), that spin holds the lock and burns moto's core.

Here the wait is sliced: each slice is moto's own receive with no wait (one scan, under that
lock), then a sleep of `SLICE_S` on the queue's condition (a send wakes it at once), outside the
lock, until a message is received or the wait is over. Installed in moto's process after the
default patches (`LocalStackOptions.moto_patches`); `python -m bench --moto-as-is` leaves it out.
"""

from __future__ import annotations

import time
from typing import Any

from moto.sqs.models import Queue, SQSBackend

SLICE_S = 0.05


def _wait_for_a_send(queue: Queue, seconds: float) -> None:
    condition = queue._messages_lock  # moto's Condition, notified by add_message
    with condition:
        condition.wait(timeout=seconds)


def install() -> None:
    inner = SQSBackend.receive_message
    if getattr(inner, "prompt_long_poll", False):
        return

    def receive_message(
        self: SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> Any:
        deadline = time.monotonic() + wait_seconds_timeout
        while True:
            messages = inner(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
            remaining = deadline - time.monotonic()
            if messages or remaining <= 0:
                return messages
            _wait_for_a_send(self.get_queue(queue_name), min(SLICE_S, remaining))

    receive_message.prompt_long_poll = True  # type: ignore[attr-defined]
    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
