"""What the rig's processes spend their CPU on: py-spy samples of the whole process tree.

`python -m bench --py-spy` runs `py-spy record --subprocesses --nonblocking` on this process for
each workload (the emulator, the pollers, moto's process and every execution environment are its
descendants) and reduces the raw stacks to, per process role: samples, the packages the sampled
leaf frames sit in (where the CPU is burnt), and the share of samples under a few frames that
matter for the question "where does the time go" (inclusive). py-spy leaves out idle threads, but
in moto's many-threaded server it reports threads parked in `Condition.wait` and the like as busy:
samples whose leaf is such a wait are counted apart as `waitingSamples` and left out of the shares.
Shares are of the remaining samples; `bench.rig_cpu` gives each role's actual CPU seconds (and
py-spy's own cost, under its own role: about 0.02 cores per sampled process at 10 samples/s).

Idle threads are recorded too (`--idle`): a function's environment runs one invocation at a time on
one thread, so all of its samples are its wall time, and `wallByUpdaterFrame` says where that goes:
the innermost frame under lambdas/updater/ (function and line: a `time.sleep` line is an inline
wait), and whether an AWS call (botocore) was under way below it.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

SAMPLES_PER_S = 10
# Leaf frames of a thread that waits (a lock, a condition, a socket, a selector), not burns CPU.
WAITING_LEAVES = (
    "Condition.wait ", "Event.wait ", "Thread.join ", "Thread._wait_for_tstate_lock ", "select ",
    "BaseSelector.select ", "EpollSelector.select ", "SocketIO.readinto ", "socket.accept ",
    "_wait_for_a_send ", "BaseServer.serve_forever ", "_PollLikeSelector.select ", "SelectSelector.select ",
)  # fmt: skip
REPO = str(Path(__file__).resolve().parents[1])
UPDATER = f"{REPO}/lambdas/updater/"
_RECORD_END = re.compile(r" (\d+)$")
_PROCESS = re.compile(r'^process (\d+):"')
_FRAME_FILE = re.compile(r"\((.*?)(?::\d+)?\)$")
# Leaf frame file -> package, first match wins (py-spy gives full paths; the project's own files are
# matched under the repository, installed packages by their directory).
PACKAGES = (
    (f"{REPO}/lambdas/updater/", "updater (lambdas/)"),
    (f"{REPO}/local/healthimaging/", "emulator (local/healthimaging)"),
    (f"{REPO}/local/", "local stack (pollers, environments)"),
    (f"{REPO}/bench/", "bench harness"),
    ("/moto/", "moto"),
    ("/werkzeug/", "werkzeug"),
    ("/botocore/", "botocore"),
    ("/boto3/", "boto3"),
    ("/urllib3/", "urllib3"),
    ("/aws_lambda_powertools/", "powertools"),
    ("pydantic", "pydantic"),
    ("/jinja2/", "jinja2"),
    ("xmltodict", "xmltodict"),
    ("/json/", "json"),
    ("/http/", "http (stdlib)"),
    ("socketserver", "socketserver"),
    ("ssl.py", "ssl"),
    ("threading.py", "threading"),
    ("/logging/", "logging"),
    ("copy.py", "copy (deepcopy)"),
)
# Frames whose presence anywhere in a stack says what the sample was for (inclusive shares).
INCLUSIVE = (
    ("emulator: serving calls", f"{REPO}/local/healthimaging/http_front.py"),
    ("emulator: settle ticker", f"{REPO}/local/healthimaging/server.py:_tick"),
    ("pollers: receive/delete", f"{REPO}/local/event_source.py"),
    ("pollers: dispatch to environments", f"{REPO}/local/execution_environments.py"),
    ("harness: outcome collector", f"{REPO}/bench/run.py"),
    ("moto: SQS", "/moto/sqs/"),
    ("moto: DynamoDB", "/moto/dynamodb/"),
    ("moto: EventBridge", "/moto/events/"),
    ("updater: handler", f"{REPO}/lambdas/updater/"),
    ("boto3 client side", "/botocore/"),
    ("powertools logging", "/aws_lambda_powertools/logging/"),
)


def _executable() -> str | None:
    """py-spy beside this interpreter (the venv's, when PATH does not name it), else on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.is_file() else shutil.which("py-spy")


def available() -> bool:
    return _executable() is not None


class PySpyRecorder:
    """py-spy over this process tree until `stop()`; raw (collapsed) stacks to `path`."""

    def __init__(self, pid: int, path: Path) -> None:
        self._pid = pid
        self.path = path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> PySpyRecorder:
        executable = _executable()
        if executable is None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            executable,
            "record",
            "--pid",
            str(self._pid),
            "--subprocesses",
            "--nonblocking",
            "--full-filenames",
        ]
        command += ["--rate", str(SAMPLES_PER_S), "--format", "raw", "--output", str(self.path)]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def stop(self) -> bool:
        """Ends the recording (py-spy writes its file on SIGINT); True when a file was written."""
        if self._process is None:
            return False
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        return self.path.is_file()


def _records(text: str) -> list[tuple[list[str], int]]:
    """(frames root first, samples); a process frame's command line may hold newlines."""
    records, pending = [], ""
    for line in text.splitlines():
        pending = f"{pending}\n{line}" if pending else line
        end = _RECORD_END.search(pending)
        if end is None:
            continue
        records.append((pending[: end.start()].split(";"), int(end.group(1))))
        pending = ""
    return records


def _package(frame: str) -> str:
    match = _FRAME_FILE.search(frame)
    path = match.group(1) if match else frame
    for needle, package in PACKAGES:
        if needle in path:
            return package
    return "other"


def _role_of(frames: list[str], roles: dict[int, str]) -> tuple[str, list[str]]:
    """The innermost process frame names the process; the Python frames follow it."""
    role, start = "unknown process", 0
    for index, frame in enumerate(frames):
        match = _PROCESS.match(frame)
        if match:
            role, start = roles.get(int(match.group(1)), "other process"), index + 1
    return role, frames[start:]


def _updater_frame(frames: list[str]) -> str | None:
    """`function (file:line)` of the innermost updater frame, and whether an AWS call is below it."""
    for depth in range(len(frames) - 1, -1, -1):
        if UPDATER in frames[depth]:
            below = frames[depth + 1 :]
            label = frames[depth].replace(UPDATER, "")
            return f"{label} -> {'AWS call' if any('/botocore/' in f for f in below) else 'itself'}"
    return None


def _inclusive_hit(frames: list[str], needle: str) -> bool:
    path, _, function = needle.partition(":")
    return any(path in frame and (not function or frame.startswith(f"{function} ")) for frame in frames)


def summarize(path: Path, roles: dict[int, str], top: int = 8) -> dict[str, object]:
    """Per role: busy samples (waits apart), leaf packages and inclusive shares of the busy ones."""
    if not path.is_file():
        return {}
    samples: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    wall: defaultdict[str, Counter[str]] = defaultdict(Counter)
    packages: defaultdict[str, Counter[str]] = defaultdict(Counter)
    inclusive: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for frames, count in _records(path.read_text(encoding="utf-8", errors="replace")):
        role, python_frames = _role_of(frames, roles)
        if not python_frames:
            continue
        if role.endswith("environments"):
            wall[role][_updater_frame(python_frames) or "outside the updater (runtime, idle)"] += count
        if python_frames[-1].startswith(WAITING_LEAVES):
            waiting[role] += count
            continue
        samples[role] += count
        packages[role][_package(python_frames[-1])] += count
        for label, needle in INCLUSIVE:
            if _inclusive_hit(python_frames, needle):
                inclusive[role][label] += count
    roles_seen = {*samples, *waiting}
    return {
        role: {
            "samples": samples[role],
            "waitingSamples": waiting[role],
            "leafPackages": _shares(packages[role], top),
            "inclusive": _shares(inclusive[role], None, samples[role]),
            **({"wallByUpdaterFrame": _shares(wall[role], 12)} if role in wall else {}),
        }
        for role in sorted(roles_seen, key=lambda r: -samples[r])
    }


def _shares(counts: Counter[str], top: int | None, total: int | None = None) -> dict[str, float]:
    whole = total if total is not None else sum(counts.values())
    return {label: round(n / whole, 3) for label, n in counts.most_common(top)} if whole else {}
