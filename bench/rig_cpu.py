"""Where the rig's CPU goes during a workload: seconds per process role, read from /proc.

The local stack is a process tree: this process (the HealthImaging emulator's HTTP server and
settle ticker, the event source pollers, the harness), moto's server (SQS, DynamoDB, EventBridge)
and one process per Lambda execution environment. On a 2-core machine the question "can the rig
carry 10 updates/s" is first "does any of them saturate a core": a process near 1 core is the
bottleneck (one interpreter, one GIL), the whole tree near 2 cores means the machine is.

Samples every second and keeps each process's last reading, so an environment that ends before
the window does still counts. The machine's own busy time (/proc/stat) shows what others took.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
SAMPLE_EVERY_S = 1.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FUNCTION_ROLES = ("intake", "apply", "finalize")
PROFILER = "py-spy (the profiler itself)"  # reported, but not part of the rig's figure


def _cpu_seconds(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a live process, or None."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _role(pid: int, own_pid: int) -> str | None:
    if pid == own_pid:
        return "bench process (emulator, pollers, harness)"
    try:
        command = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    if "local.moto_process" in command:
        serves = command.partition("--serves ")[2].split(" ")[0] or "all"
        return "moto (every service)" if serves == "all" else f"moto ({serves})"
    if "local.lambda_runtime" in command:
        for role in FUNCTION_ROLES:
            if f"-{role}/env-" in command:  # the stack dump path names the function's log directory
                return f"{role} environments"
        return "other environments"
    if "py-spy" in command:
        return PROFILER
    return None


def _machine_busy_s() -> float:
    """Seconds of busy CPU since boot, over all cores."""
    values = [int(v) for v in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS


@dataclass
class _Reading:
    role: str
    first: float
    last: float


@dataclass
class RigCpuSampler:
    """`start()` before the window, `stop()` after it; `figures()` then says where the CPU went."""

    own_pid: int = field(default_factory=os.getpid)
    _readings: dict[int, _Reading] = field(default_factory=dict)
    _started_at: float = 0.0
    _stopped_at: float = 0.0
    _machine_start: float = 0.0
    _machine_end: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _first_pass: bool = True

    def start(self) -> RigCpuSampler:
        self._started_at, self._machine_start = time.monotonic(), _machine_busy_s()
        self._sample()
        self._first_pass = False
        self._thread = threading.Thread(target=self._run, name="rig-cpu", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        self._stopped_at, self._machine_end = time.monotonic(), _machine_busy_s()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self._sample()

    def _tree(self) -> list[int]:
        parents: dict[int, int] = {}
        for entry in PROC.iterdir():
            if entry.name.isdigit() and (reading := _cpu_seconds(int(entry.name))) is not None:
                parents[int(entry.name)] = reading[0]
        tree, frontier = {self.own_pid}, [self.own_pid]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
            tree.update(children)
            frontier.extend(children)
        return sorted(tree)

    def _sample(self) -> None:
        for pid in self._tree():
            reading = _cpu_seconds(pid)
            if reading is None:
                continue
            known = self._readings.get(pid)
            if known is None:
                role = _role(pid, self.own_pid)
                if role is None:
                    continue
                # A process born inside the window spent all of its CPU in it.
                first = reading[1] if self._first_pass else 0.0
                self._readings[pid] = _Reading(role, first, reading[1])
            else:
                known.last = reading[1]

    def roles(self) -> dict[int, str]:
        return {pid: reading.role for pid, reading in self._readings.items()}

    def figures(self) -> dict[str, object]:
        window = max(1e-6, self._stopped_at - self._started_at)
        by_role: defaultdict[str, float] = defaultdict(float)
        processes: defaultdict[str, int] = defaultdict(int)
        for reading in self._readings.values():
            by_role[reading.role] += reading.last - reading.first
            processes[reading.role] += 1
        ours = sum(seconds for role, seconds in by_role.items() if role != PROFILER)
        machine = self._machine_end - self._machine_start
        return {
            "windowS": round(window, 2),
            "cores": os.cpu_count(),
            "byRole": {
                role: {
                    "cpuS": round(seconds, 2),
                    "coresBusy": round(seconds / window, 3),
                    "processes": processes[role],
                }
                for role, seconds in sorted(by_role.items(), key=lambda item: -item[1])
            },
            "rigCoresBusy": round(ours / window, 3),
            "machineCoresBusy": round(machine / window, 3),
            "othersCoresBusy": round(max(0.0, machine - ours) / window, 3),
        }
