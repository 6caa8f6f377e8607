"""A long poll in moto's SQS that returns when a message becomes receivable, as SQS's does.

moto's `receive_message` scans the queue, then waits up to 1 s on a condition that a send notifies
(`Queue.wait_for_messages`) and scans again. The stack's own `local.moto_sqs_receive` (one of
`local.moto_stack.DEFAULT_PATCHES`) runs each receive under a per-queue lock and wakes waiting
receives when a visibility is set to 0 (a settle notice); what it leaves, and the bench would
otherwise measure as the updater's:

- a message whose visibility timeout simply ends (a lane wait, a poll after the learned settle
  time) is not seen by a receive already waiting until its next 1 s scan;
- on a FIFO queue whose visible messages all belong to groups in flight (an image set's later
  requests behind its waiting head), the condition's predicate ("any visible message") is true at
  once, so the receive spins, scanning the queue without pause for its whole wait, and holds that
  per-queue lock all the while (the queue's other receivers wait behind it; moto's core burns).

Here the wait is sliced: each slice is the receive as installed before (the default patches' locked
receive) with no wait, one scan, then a sleep of `SLICE_S` on the queue's condition (a send or a
visibility set to 0 wakes it at once), outside the lock, until a message is received or the wait
is over. It wraps the default patches and replaces none of them: installed in moto's process after
them (`LocalStackOptions.moto_patches`); `python -m bench --moto-as-is` leaves it out.
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
