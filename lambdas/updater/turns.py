"""UpdateTurns: when a request may make its UpdateImageSetMetadata call, under the account-wide pace.

A request that must wait keeps the slot the pacer reserved for it (in its ledger entry) and is
handed back until shortly before that slot; it then waits the last moments in the invocation and
calls on time. A slot already missed by more than `late_tolerance_s` (a delivery that came back late:
SQS delays and pollers are not punctual, least of all on a busy host) is given up and a new one
reserved: calling on a missed slot would land on the slot of whoever reserved the next one, and the
service would throttle one of the two. The tolerance must stay below the pacer's margin, the only
slack between two neighbouring slots.
"""

from __future__ import annotations

from typing import Protocol

from updater.adapters.ledger import Ledger

DEFAULT_LATE_TOLERANCE_S = 0.1


class Pacer(Protocol):
    def reserve(self) -> float:
        """Reserve the next slot for one update call; return when it is (epoch seconds)."""
        ...

    def earliest_call(self) -> float:
        """No call before this (epoch seconds): the last answered call's quota interval."""
        ...

    def call_ended(self, at: float) -> None: ...


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class UpdateTurns:
    def __init__(
        self,
        pacer: Pacer,
        ledger: Ledger,
        clock: Clock,
        *,
        late_tolerance_s: float = DEFAULT_LATE_TOLERANCE_S,
    ) -> None:
        self._pacer = pacer
        self._ledger = ledger
        self._clock = clock
        self._late_tolerance = late_tolerance_s

    def wait_for_turn(self, request_id: str, reserved_at_s: float | None, *, inline_wait_s: float) -> float:
        """0.0 once it is this request's turn (after waiting up to `inline_wait_s` here); otherwise the
        seconds until its reserved slot, which it keeps for when it comes back."""
        now = self._clock.now()
        missed = reserved_at_s is not None and reserved_at_s < now - self._late_tolerance
        slot = None if missed else reserved_at_s
        if slot is None:
            slot = self._pacer.reserve()
        wait = slot - now
        if wait > inline_wait_s:
            if slot != reserved_at_s:
                self._ledger.set_turn(request_id, int(slot * 1000))
            return wait
        self._clock.sleep(max(0.0, wait))
        # The slot assumed the previous call arrived on time; if it was late, its answer says so.
        behind = self._pacer.earliest_call() - self._clock.now()
        if behind > max(0.0, inline_wait_s - max(0.0, wait)):
            return behind  # the slot will be missed: the next delivery reserves a new one
        self._clock.sleep(max(0.0, behind))
        return 0.0

    def call_ended(self) -> None:
        """Right after every update call, answered or failed."""
        self._pacer.call_ended(self._clock.now())

    def used(self, request_id: str, reserved_at_s: float | None) -> None:
        """After the call (not between slot and call): the slot is spent."""
        if reserved_at_s is not None:
            self._ledger.set_turn(request_id, None)
