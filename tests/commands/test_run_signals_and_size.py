"""``ctxtop run`` reports a signal death like bash, passes unfiltered output whole, and says what it cut."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ctxtop.adapters import raw_outputs
from ctxtop.services import filtering
from ctxtop.services import run as run_cmd
from tests.commands import corpus


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"CTXTOP_DATA_DIR": str(tmp_path / "data"), "CTXTOP_CONFIG_DIR": str(tmp_path / "cfg")}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


def _run(script: str, env: dict[str, str], **extra: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ctxtop", "run", "--", "bash", "-c", script],
        env=corpus.clean_env({**env, **extra}),
        capture_output=True,
        timeout=60,
        # A shell that started the test run in the background hands it SIGINT ignored, and an ignored
        # signal stays ignored across exec: give ctxtop (and so bash) the default a terminal user has.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@pytest.mark.parametrize("raw_mode", [False, True])
@pytest.mark.parametrize(
    ("sig", "code", "said"),
    [
        ("SEGV", 139, "Segmentation fault"),
        ("ABRT", 134, "Aborted"),
        ("KILL", 137, "Killed"),
        ("INT", 130, None),
    ],
)
def test_a_signal_death_is_reported_like_bash(
    env: dict[str, str], raw_mode: bool, sig: str, code: int, said: str | None
) -> None:
    # Under the wrap hook `bash -c` execs the last command: only ctxtop is left to say how it ended.
    proc = _run(f"echo before; kill -{sig} $$", env, **({"CTXTOP_NO_FILTER": "1"} if raw_mode else {}))
    assert proc.returncode == code
    lines = proc.stdout.decode().splitlines()
    assert lines[0] == "before"
    if said is None:  # bash says nothing for SIGINT
        assert lines == ["before"]
    else:
        assert lines[1] in (said, f"{said} (core dumped)") and len(lines) == 2


def test_unfiltered_output_over_the_capture_limit_passes_byte_for_byte(
    env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out.bin"
    script = "seq 1 14000000"  # 110 MB: more than a filtered run ever holds (its head plus up to 2x its tail)
    with out.open("wb") as fh:
        proc = subprocess.run(
            [sys.executable, "-m", "ctxtop", "run", "--", "bash", "-c", script],
            env=corpus.clean_env({**env, "CTXTOP_NO_FILTER": "1"}),
            stdout=fh,
            timeout=120,
        )
    assert proc.returncode == 0
    assert out.stat().st_size > run_cmd.MAX_CAPTURE * 3 // 2
    want = hashlib.sha256(subprocess.run(["bash", "-c", script], capture_output=True).stdout).hexdigest()
    assert hashlib.sha256(out.read_bytes()).hexdigest() == want


def test_capture_keeps_the_error_lines_of_a_middle_it_cannot_hold() -> None:
    head = b"".join(b"head %d\n" % i for i in range(100))
    middle = [b"middle %d\n" % i for i in range(5000)]
    middle.insert(2500, b"ERROR: disk quota exceeded\n")
    tail = b"".join(b"tail %d\n" % i for i in range(100))
    data = head + b"".join(middle) + tail
    r, w = os.pipe()
    with os.fdopen(r, "rb") as reader:
        cap = run_cmd.Capture(reader, limit=2000)

        def feed() -> None:
            with os.fdopen(w, "wb") as writer:
                for k in range(0, len(data), 777):
                    writer.write(data[k : k + 777])

        threading.Thread(target=feed).start()
        cap.thread.join(timeout=30)
        got = cap.data()
    assert got.startswith(data[:1000]) and got.endswith(data[-1000:])
    marker = next(line for line in got.split(b"\n") if line.startswith(b"[ctxtop: "))
    dropped = len(data) - 2000
    assert f"{dropped} bytes".encode() in marker and f"bytes 1000-{1000 + dropped - 1} ".encode() in marker
    assert b"\nERROR: disk quota exceeded\n" in got


def test_the_pointer_line_states_what_a_capped_raw_file_lacks(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(raw_outputs, "MAX_FILE_BYTES", 4000)
    raw = "".join(f"[{i}/900] Compiling unit_{i}.c ... ok\n" for i in range(900)) + "BUILD OK\n"
    filtered = filtering.filter_output(raw, "./build.sh", source="run", exit_code=0)
    last = filtered.text.splitlines()[-1]
    path = corpus.raw_path_of(filtered.text)
    assert path is not None
    size = len(raw.encode())
    assert last.endswith(f"; bytes 2000-{size - 2001} of {size} are not in it (too large to keep)]")
    saved = path.read_bytes()
    assert saved.startswith(raw.encode()[:2000]) and saved.endswith(raw.encode()[size - 2000 :])
