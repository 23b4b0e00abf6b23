"""Shared helpers of the benchmarks: figures, tables, /proc readings, a child FTP server.

Every benchmark module prints a human report and, for `python -m bench`, one machine line
per figure: `BENCH-RESULT {"name": …, "value": …, "unit": …, "target": …, "ok": …}`.

`python -m bench.common serve-ftp ROOT` runs tests.servers.ftp_server (pyftpdlib, plain
FTP) on 127.0.0.1 in its own process — so the server never competes with the measured
client for the GIL — prints `PORT <n>` and serves until stdin closes or SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

HOST = "127.0.0.1"
RESULT_PREFIX = "BENCH-RESULT "
ROOT = Path(__file__).resolve().parent.parent
FTP_USER = "kanzlei"
FTP_PASSWORD = "Geheim-Passwort-123"


# -- figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One measured figure and its target; `ok` None when there is no target."""

    bench: str
    name: str
    value: float | None
    unit: str
    target: str
    ok: bool | None
    note: str = ""
    digits: int = 2

    def shown(self) -> str:
        if self.value is None:
            return "–"
        return f"{self.value:.{self.digits}f} {self.unit}".strip()


def emit(figure: Figure) -> None:
    """The machine line `python -m bench` collects (after the human report)."""
    print(RESULT_PREFIX + json.dumps(asdict(figure), ensure_ascii=False), flush=True)


def parse_results(text: str) -> list[Figure]:
    figures: list[Figure] = []
    for line in text.splitlines():
        if line.startswith(RESULT_PREFIX):
            with contextlib.suppress(ValueError, TypeError):
                figures.append(Figure(**json.loads(line[len(RESULT_PREFIX) :])))
    return figures


def mark(ok: bool | None) -> str:
    return "–" if ok is None else ("✓" if ok else "✗")


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, align: str = "") -> str:
    """A plain text table; `align` has one letter per column, `l` or `r` (default: the
    first column left, the others right, a last column named "Hinweis" left)."""
    all_rows = [list(header), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in all_rows) for i in range(len(header))]
    if not align:
        align = "l" + "r" * (len(header) - 1)
        if header[-1] == "Hinweis":
            align = align[:-1] + "l"

    def line(cells: list[str]) -> str:
        out = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in
               zip(cells, widths, align, strict=True)]  # fmt: skip
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(all_rows[0]), rule, *(line(r) for r in all_rows[1:])])


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- /proc readings ----------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of process `pid` (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / _TICKS  # fields 14, 15 of proc(5)


def status_kb(pid: int, key: str) -> int:
    """A `kB` value of /proc/<pid>/status, e.g. VmHWM (peak RSS) or VmRSS."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


# -- a child process FTP server ----------------------------------------------------------


@dataclass(frozen=True)
class ChildFTP:
    host: str
    port: int
    root: Path
    user: str
    password: str


@contextlib.contextmanager
def ftp_server_process(root: Path, *, start_timeout: float = 20.0) -> Iterator[ChildFTP]:
    """tests.servers.ftp_server in its own process on 127.0.0.1; stopped on exit."""
    root.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.common", "serve-ftp", str(root)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = _read_port(proc, proc.stdout.fileno(), start_timeout)
        yield ChildFTP(HOST, port, root, FTP_USER, FTP_PASSWORD)
    finally:
        stop_process(proc)


def _read_port(proc: subprocess.Popen[str], fd: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    buffer = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 256)
            if not chunk:
                break
            buffer += chunk
            if b"\n" in buffer:
                line = buffer.split(b"\n", 1)[0].decode()
                if line.startswith("PORT "):
                    return int(line.split()[1])
                raise RuntimeError(f"FTP server: unexpected output {line!r}")
        elif proc.poll() is not None:
            break
    raise RuntimeError(f"FTP server did not start within {timeout:g} s (exit {proc.poll()})")


def stop_process(proc: subprocess.Popen[str] | subprocess.Popen[bytes], grace: float = 10) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; closes its pipes."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _serve_ftp(root: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from tests.servers import ftp_server

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())

    def watch_stdin() -> None:  # the parent died or closed our stdin: stop
        with contextlib.suppress(OSError):
            sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    with ftp_server(root, user=FTP_USER, password=FTP_PASSWORD) as server:
        print(f"PORT {server.port}", flush=True)
        stop.wait(24 * 3600)  # bounded: a forgotten server ends after a day at the latest
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve-ftp":
        raise SystemExit(_serve_ftp(Path(sys.argv[2])))
    raise SystemExit("usage: python -m bench.common serve-ftp ROOT")
