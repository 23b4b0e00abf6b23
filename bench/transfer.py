"""Benchmark: upload throughput of buchex's transports against the reference clients.

    python -m bench.transfer [--quick] [--size-mb N] [--runs N] [--variants]

Issue: "a 64 MB SFTP upload against OpenSSH's `sftp` client to the same sshd, and an FTP
upload against `curl -T`, same run; report the throughput ratios. Target: buchex ≥ 0.8 of
OpenSSH's throughput."

- SFTP: OpenSSH's sshd on 127.0.0.1 (tests.servers.openssh_server, key login as the
  current user, internal-sftp). buchex: `make_transport` → connect → ensure_directory →
  upload_atomic (temp name, size check, rename) → close. Reference: `sftp -b batch` with
  `put`, OpenSSH's default cipher; an extra row with `-c aes128-gcm@openssh.com` (the
  cipher buchex negotiates) is shown for information.
- FTP: pyftpdlib (tests.servers.ftp_server) in its own process. buchex: the FTP transport
  the same way. Reference: `curl -T file ftp://…/dir/`.

Each run is a whole session (connect, login, upload, close / the client process from
start to exit): MB/s = file size / wall time; median of `--runs` (3). buchex and the
reference take turns, so a slowly filling page cache or a noisy neighbour hits both alike.
Every uploaded file's size is checked on the server's disk, then the file is removed.
The ratio target (≥ 0.8) is the issue's SFTP bar; FTP is held to the same bar.

`--variants` also measures buchex SFTP with other window / packet / request / block sizes
(module constants of engine.transports.sftp, patched in this process only) to find what a
change to the transport would bring.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import (
    HOST,
    ROOT,
    Figure,
    emit,
    ftp_server_process,
    mark,
    median,
    table,
)

if TYPE_CHECKING:
    from engine.config import Target

TARGET_RATIO = 0.8
SIZE_MB = 64
QUICK_SIZE_MB = 16
RUNS = 3
# One 64 MB FTP upload over loopback takes ~70 ms: with 3 runs consecutive benchmark runs
# gave ratios from 0.74 to 1.15, so FTP takes the median of more runs (~1 s each way).
FTP_RUNS = 9
RUN_TIMEOUT_S = 120.0  # one upload; far above the seconds a loopback upload takes
MB = 1_000_000  # throughput in MB/s (10^6 bytes), file sizes in MiB as the issue says

if str(ROOT) not in sys.path:  # tests.servers, when run as a file
    sys.path.insert(0, str(ROOT))


@dataclass
class Series:
    tool: str
    mbps: list[float] = field(default_factory=list)
    upload_only: list[float] = field(default_factory=list)  # buchex: without connect/close
    note: str = ""

    @property
    def median(self) -> float:
        return median(self.mbps)


def make_file(path: Path, size_mb: int) -> int:
    """Random (incompressible) content, 1 MiB at a time."""
    with path.open("wb") as fh:
        for _ in range(size_mb):
            fh.write(os.urandom(1 << 20))
    return path.stat().st_size


def check_size(path: Path, expected: int, tool: str) -> None:
    actual = path.stat().st_size if path.exists() else -1
    if actual != expected:
        raise RuntimeError(f"{tool}: {path.name} has {actual} bytes on the server, not {expected}")
    path.unlink()


# -- buchex ------------------------------------------------------------------------------


def buchex_upload(
    target: Target, known_hosts: Path, source: Path, name: str
) -> tuple[float, float]:
    """One whole session; (session seconds, upload_atomic seconds)."""
    from engine.transports import make_transport

    started = time.perf_counter()
    transport = make_transport(
        target,
        known_hosts=known_hosts,
        timeout=30,
        transfer_deadline=RUN_TIMEOUT_S,
    )
    try:
        transport.connect()
        folder = transport.ensure_directory("bench")
        upload_started = time.perf_counter()
        result = transport.upload_atomic(source, folder, name)
        upload_seconds = time.perf_counter() - upload_started
    finally:
        transport.close()
    seconds = time.perf_counter() - started
    if result.size != source.stat().st_size:
        raise RuntimeError(f"buchex reported {result.size} bytes")
    return seconds, upload_seconds


def run_command(argv: list[str], what: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
    return seconds


# -- SFTP --------------------------------------------------------------------------------


def sftp_available() -> str | None:
    """None when OpenSSH's sshd and sftp are there, else what is missing."""
    missing = [p for p in ("/usr/sbin/sshd",) if not Path(p).exists()]
    if shutil.which("sftp") is None:
        missing.append("sftp")
    return ", ".join(missing) or None


@contextlib.contextmanager
def _patched(module: object, values: dict[str, object]) -> Iterator[None]:
    old = {k: getattr(module, k) for k in values}
    try:
        for k, v in values.items():
            setattr(module, k, v)
        yield
    finally:
        for k, v in old.items():
            setattr(module, k, v)


def bench_sftp(tmp: Path, source: Path, runs: int, variants: bool) -> list[Series]:
    from engine.config import Target
    from engine.transports import KnownHosts
    from tests.servers import openssh_server

    size = source.stat().st_size
    with openssh_server(tmp / "sshd") as server:
        remote = server.root / "bench"
        remote.mkdir(exist_ok=True)
        key = str(server.client_key.private_file)
        target = Target(
            host=server.host, port=server.port, user=server.user, protocol="sftp", key_file=key
        )
        known_hosts = tmp / "known_hosts"
        # The bench's own server: its key is known, as an admin's --trust SHA256:… would do.
        key_type = server.host_key.public_line.split()[0]
        KnownHosts(known_hosts).add(server.host, server.port, key_type, server.host_key.blob)

        def sftp_cmd(batch: Path, *extra: str) -> list[str]:
            return [
                "sftp", "-q", "-b", str(batch), "-i", key, "-P", str(server.port), *extra,
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", f"{server.user}@{HOST}",
            ]  # fmt: skip

        batch = tmp / "sftp.batch"
        batch.write_text(f"put {source} bench/openssh.bin\n")
        ours = Series("buchex SFTP (upload_atomic)")
        ref = Series("OpenSSH sftp (Standard-Chiffre)")
        gcm = Series("OpenSSH sftp -c aes128-gcm", note="nur Info")

        def one_buchex(series: Series, name: str = "buchex.bin") -> None:
            seconds, upload = buchex_upload(target, known_hosts, source, name)
            check_size(remote / name, size, series.tool)
            series.mbps.append(size / MB / seconds)
            series.upload_only.append(size / MB / upload)

        def one_ref(series: Series, *extra: str) -> None:
            seconds = run_command(sftp_cmd(batch, *extra), "sftp")
            check_size(remote / "openssh.bin", size, series.tool)
            series.mbps.append(size / MB / seconds)

        steps: list[Callable[[], None]] = [
            lambda: one_buchex(ours),
            lambda: one_ref(ref),
            lambda: one_ref(gcm, "-c", "aes128-gcm@openssh.com"),
        ]
        for i in range(runs):
            for step in steps if i % 2 == 0 else reversed(steps):
                step()
        out = [ours, ref, gcm]

        if variants:  # round-robin with an unpatched baseline, so drift hits all alike
            import engine.transports.sftp as sftp_module

            base = Series("buchex SFTP, unverändert", note="Variante (Basis)")
            tried = [(base, {}), *((Series(f"buchex SFTP, {label}", note="Variante"), values)
                                   for label, values in VARIANTS)]  # fmt: skip
            for i in range(runs):
                for series, values in tried[i % len(tried) :] + tried[: i % len(tried)]:
                    with _patched(sftp_module, values):
                        one_buchex(series)
            out += [series for series, _ in tried]
    return out


K = 1024
# paramiko sends at most (the server's max packet − 64) bytes per SSH packet; an SFTP write
# adds 25 bytes + the handle (4 bytes with OpenSSH) to its data. So with OpenSSH's 32 KiB
# packets a 32 KiB write takes two SSH packets, a write of 32768 − 64 − 29 = 32675 one.
ONE_PACKET_REQUEST = 32 * 1024 - 64 - 29
VARIANTS: list[tuple[str, dict[str, object]]] = [
    ("Fenster 1 MiB", {"WINDOW_SIZE": 1 * K * K}),
    ("Fenster 16 MiB", {"WINDOW_SIZE": 16 * K * K}),
    ("Paket 64 KiB", {"PACKET_SIZE": 64 * K}),
    ("Anfrage 16 KiB", {"REQUEST_SIZE": 16 * K}),
    (f"Anfrage {ONE_PACKET_REQUEST} B", {"REQUEST_SIZE": ONE_PACKET_REQUEST}),
    ("Block 1 MiB", {"BLOCK_SIZE": 1 * K * K}),
]


# -- FTP ---------------------------------------------------------------------------------


def bench_ftp(tmp: Path, source: Path, runs: int, variants: bool) -> list[Series]:
    from engine.config import Target
    from engine.fields import Secret

    size = source.stat().st_size
    curl = shutil.which("curl")
    with ftp_server_process(tmp / "ftp-root") as server:
        remote = server.root / "bench"
        remote.mkdir(exist_ok=True)
        target = Target(
            host=server.host,
            port=server.port,
            user=server.user,
            password=Secret(server.password),
            protocol="ftp",
        )
        ours = Series("buchex FTP (upload_atomic)")
        ref = Series("curl -T", note="" if curl else "curl fehlt: Vergleich übersprungen")

        def one_buchex() -> None:
            seconds, upload = buchex_upload(target, tmp / "known_hosts", source, "buchex.bin")
            check_size(remote / "buchex.bin", size, ours.tool)
            ours.mbps.append(size / MB / seconds)
            ours.upload_only.append(size / MB / upload)

        def one_curl() -> None:
            if curl is None:
                return
            url = f"ftp://{HOST}:{server.port}/bench/curl.bin"
            argv = [curl, "-sS", "-T", str(source), "-u", f"{server.user}:{server.password}", url]
            seconds = run_command(argv, "curl")
            check_size(remote / "curl.bin", size, ref.tool)
            ref.mbps.append(size / MB / seconds)

        for i in range(runs):
            for step in (one_buchex, one_curl) if i % 2 == 0 else (one_curl, one_buchex):
                step()
        out = [ours, ref]

        if variants:  # zero-copy sendfile (the transport's choice) against plain sends
            import engine.transports.ftp as ftp_module

            base = Series("buchex FTP, sendfile (unverändert)", note="Variante (Basis)")
            blocks = Series("buchex FTP, sendall in 256-KiB-Blöcken", note="Variante")
            patch: dict[str, object] = {"_send_file": ftp_module._send_blocks}
            for i in range(runs):
                for series, values in [(base, {}), (blocks, patch)][:: 1 if i % 2 else -1]:
                    with _patched(ftp_module, values):
                        seconds, _ = buchex_upload(target, tmp / "kh", source, "variant.bin")
                    check_size(remote / "variant.bin", size, series.tool)
                    series.mbps.append(size / MB / seconds)
            out += [base, blocks]
    return out


# -- report ------------------------------------------------------------------------------


def _rows(series: list[Series], reference: Series, ours: Series, targeted: bool) -> list[list[str]]:
    rows = []
    for s in series:
        if not s.mbps:
            rows.append([s.tool, "–", "–", "–", "–", s.note])
            continue
        runs = " / ".join(f"{v:.0f}" for v in s.mbps)
        ratio = s.median / reference.median if reference.mbps else float("nan")
        target = ""
        if s is ours:
            target = f"≥ {TARGET_RATIO} {mark(ratio >= TARGET_RATIO)}" if targeted else "Info"
        if s is reference:
            target = "Referenz"
        rows.append([s.tool, runs, f"{s.median:.1f}", f"{ratio:.2f}", target, s.note])
    return rows


def report(
    title: str,
    series: list[Series],
    ours: Series,
    reference: Series,
    bench_name: str,
    *,
    targeted: bool,
) -> None:
    """Print the table and emit the ratio; `targeted`: the ≥ 0.8 target applies (SFTP)."""
    print(f"\n{title}")
    header = ["Werkzeug", "Läufe MB/s", "Median MB/s", "Verhältnis", "Ziel", "Hinweis"]
    print(table(header, _rows(series, reference, ours, targeted)))
    if ours.upload_only:
        print(
            f"  ({ours.tool}: nur upload_atomic ohne Verbinden/Schließen: "
            f"Median {median(ours.upload_only):.1f} MB/s)"
        )
    if reference.mbps and ours.mbps:
        ratio = ours.median / reference.median
        emit(
            Figure(
                bench="transfer",
                name=f"{bench_name}: buchex / {reference.tool.split(' (')[0]}",
                value=ratio,
                unit="×",
                target=f"≥ {TARGET_RATIO}" if targeted else "",
                ok=ratio >= TARGET_RATIO if targeted else None,
                note=f"{ours.median:.0f} vs {reference.median:.0f} MB/s"
                + ("" if targeted else "; Issue nennt kein Ziel, nur Info"),
            )
        )
    else:
        emit(
            Figure(
                bench="transfer",
                name=f"{bench_name}: buchex / {reference.tool}",
                value=None,
                unit="×",
                target=f"≥ {TARGET_RATIO}" if targeted else "",
                ok=None,
                note=reference.note or "nicht gemessen",
            )
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.transfer")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SIZE_MB} MB statt 64 MB")
    parser.add_argument("--size-mb", type=int, help="Dateigröße in MiB")
    parser.add_argument("--runs", type=int, default=RUNS, help="SFTP: Läufe je Werkzeug (3)")
    parser.add_argument("--ftp-runs", type=int, default=FTP_RUNS, help="FTP: Läufe je Werkzeug")
    parser.add_argument("--variants", action="store_true", help="Parameter-Varianten messen")
    parser.add_argument("--only", choices=("sftp", "ftp"), help="nur ein Protokoll")
    args = parser.parse_args(argv)
    size_mb = args.size_mb or (QUICK_SIZE_MB if args.quick else SIZE_MB)
    runs, ftp_runs = max(1, args.runs), max(1, args.ftp_runs)

    ok = True
    with tempfile.TemporaryDirectory(prefix="buchex-bench-transfer-") as tmp_name:
        tmp = Path(tmp_name)
        source = tmp / "upload.bin"
        size = make_file(source, size_mb)
        shown = f"{size:,}".replace(",", ".")
        print(
            f"Übertragung: {size_mb} MiB Zufallsdaten ({shown} Bytes), Läufe je Werkzeug: "
            f"SFTP {runs}, FTP {ftp_runs}; 127.0.0.1, {os.cpu_count()} Kerne"
        )
        if args.only in (None, "sftp"):
            missing = sftp_available()
            if missing:
                print(f"\nSFTP übersprungen: {missing} fehlt (apt-get install -y openssh-server)")
                emit(Figure("transfer", "SFTP: buchex / OpenSSH sftp", None, "×",
                            f"≥ {TARGET_RATIO}", None, f"{missing} fehlt"))  # fmt: skip
            else:
                series = bench_sftp(tmp, source, runs, args.variants)
                report(
                    "SFTP gegen OpenSSH sshd", series, series[0], series[1], "SFTP", targeted=True
                )
                ok &= series[0].median / series[1].median >= TARGET_RATIO
        if args.only in (None, "ftp"):
            series = bench_ftp(tmp, source, ftp_runs, args.variants)
            if not series[1].mbps:
                print("\ncurl fehlt (apt-get install -y curl): FTP-Vergleich übersprungen")
            report("FTP gegen pyftpdlib", series, series[0], series[1], "FTP", targeted=False)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
