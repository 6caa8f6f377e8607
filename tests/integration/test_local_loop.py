"""The README's local loop, as a newcomer runs it from a fresh clone: start `python -m local.stack`
(which imports sample image sets and prints their ids), submit a good and a bad request with
`python -m local.submit` (exit codes 0 and 1, each outcome printed), see both with their codes in
`python -m local.outcomes`, stop the stack with Ctrl-C."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 240.0
SENT = re.compile(r"^requestId (\S+) sent to ", re.MULTILINE)


def command(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )


class StackProcess:
    """`python -m local.stack` in a process of its own, its output read line by line."""

    def __init__(self, state_file: Path, run_dir: Path) -> None:
        argv = ["-m", "local.stack", "--state-file", str(state_file), "--run-dir", str(run_dir)]
        self.process = subprocess.Popen(
            [sys.executable, *argv],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=os.environ | {"PYTHONPATH": str(REPO)},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_until_ready(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (self.output and self.output[-1].startswith("ready in ")):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.process.poll() is not None:
                raise AssertionError("the stack did not get ready:\n" + "".join(self.output))
            try:
                self.output.append(self.lines.get(timeout=min(remaining, 1.0)))
            except queue.Empty:
                continue
        return "".join(self.output)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # Ctrl-C
        return self.process.wait(60)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[StackProcess, Path]]:
    state_file = tmp_path / "local-stack.json"
    running = StackProcess(state_file, tmp_path / "logs")
    try:
        yield running, state_file
    finally:
        running.stop()


def test_the_readme_local_loop_from_a_fresh_stack(stack: tuple[StackProcess, Path]) -> None:
    running, state_file = stack
    printed = running.wait_until_ready()
    samples = json.loads(state_file.read_text())["samples"]["image_sets"]
    assert {image_set["sample"] for image_set in samples} == {"CT_small.dcm", "MR_small.dcm"}
    for image_set in samples:  # the table shows what a request needs, uncut
        assert image_set["image_set_id"] in printed and image_set["series_uid"] in printed
    ct = next(image_set["image_set_id"] for image_set in samples if image_set["modality"] == "CT")
    state = ["--state-file", str(state_file)]

    good = command("local.submit", *state, "--image-set-id", ct, "--set", "Patient.PatientName=DOE^JANE")
    assert good.returncode == 0, good.stdout + good.stderr
    (good_id,) = SENT.findall(good.stdout)
    assert re.search(rf"{re.escape(good_id)}\s+\S+->\S+", good.stdout) and "SUCCEEDED" in good.stdout

    bad = command("local.submit", *state, "--image-set-id", ct, "--set", "Patient.PatientNickname=X")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    (bad_id,) = SENT.findall(bad.stdout)
    assert "FAILED" in bad.stdout and "UNKNOWN_KEYWORD" in bad.stdout

    seen = command("local.outcomes", *state)
    assert seen.returncode == 0, seen.stderr
    rows = seen.stdout.splitlines()
    assert any(good_id in row and "outcome bus" in row and "SUCCEEDED" in row for row in rows)
    assert any(bad_id in row and "outcome bus" in row and "UNKNOWN_KEYWORD" in row for row in rows)
    assert any(bad_id in row and "failures" in row and "UNKNOWN_KEYWORD" in row for row in rows)
    # The caller queues', the rules queue's and the lane's redrive DLQs, the finalizers' and the rules' own.
    assert rows[-1] == "dead-letter queues: all 9 empty, nothing lost"
    again = command("local.outcomes", *state)  # reading consumed nothing
    assert again.stdout.count(bad_id) == seen.stdout.count(bad_id)

    assert running.stop() == 0
    assert not state_file.exists()
