"""When a lane may make its update call, under the account-wide schedule (`ports.Pacer`).

A lane that must wait keeps the slot the pacer reserved for it (in its lane state) and its message
waits until shortly before that slot; it then sleeps the last moments in the invocation and calls on
time. A slot missed by more than `late_tolerance_s` (the message came back late: queues are not
punctual, least of all on a busy host) is given up and a new one reserved: calling on a missed slot
would land on the slot of whoever reserved the next one, and the service would throttle one of the
two. With burst 1 the tolerance must stay below the pacer's margin, the only slack between
neighbouring slots; with a larger burst the tokens the pacer leaves in the service's bucket absorb it.
"""

from __future__ import annotations

from updater.domain.ledger import LaneKey
from updater.domain.ports import Clock, Ledger, MetricsSink, Pacer


class PacedTurns:
    def __init__(
        self,
        pacer: Pacer,
        ledger: Ledger,
        clock: Clock,
        metrics: MetricsSink,
        *,
        inline_wait_s: float = 2.0,
        late_tolerance_s: float = 0.1,
    ) -> None:
        self._pacer = pacer
        self._ledger = ledger
        self._clock = clock
        self._metrics = metrics
        self.inline_wait_s = inline_wait_s
        self._late_tolerance = late_tolerance_s

    def wait(self, lane: LaneKey, reserved_at_ms: int | None) -> float:
        """0 once the lane may call (after sleeping up to `inline_wait_s` here); otherwise the
        seconds until its slot, which the lane keeps for when its message comes back."""
        now = self._clock.now()
        reserved = None if reserved_at_ms is None else reserved_at_ms / 1000
        if reserved is not None and reserved < now - self._late_tolerance:
            reserved = None
        slot = reserved if reserved is not None else self._pacer.reserve()
        wait = slot - now
        if wait > self.inline_wait_s:
            if slot != reserved:
                self._ledger.set_turn(lane, int(slot * 1000))
            self._metrics.observe("TokenWaitMs", wait * 1000, "Milliseconds")
            # From now, not from before the write: on a busy host keeping the slot can take most
            # of a second, and a message hidden for the stale wait came back after its slot.
            return slot - self._clock.now()
        self._clock.sleep(max(0.0, wait))
        # The slot assumed the previous call arrived on time; if it was late, its answer says so.
        behind = self._pacer.earliest_call() - self._clock.now()
        if behind > self.inline_wait_s:
            return behind  # the slot will be missed: the next delivery reserves a new one
        self._clock.sleep(max(0.0, behind))
        return 0.0

    def call_ended(self) -> None:
        """Right after every update call, answered or failed."""
        self._pacer.call_ended(self._clock.now())
