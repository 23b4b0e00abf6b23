"""Is the process that owns a run record still there? (pid + its start time)

A record says "läuft" while its run goes on. If the process dies (kill -9, a closed SSH
session, power), nobody writes the end; every reader must still know at once that the
owner is gone. A run records its pid, the process's start time (Linux: /proc/<pid>/stat,
clock ticks since boot, so a recycled pid does not pass for the old process) and the host.
"""

from __future__ import annotations

import os
import socket
from functools import cache


def process_start(pid: int) -> int | None:
    """The start time of process `pid` in clock ticks since boot; None if it does not exist
    (or /proc is not there)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    # Field 2 (comm) may hold spaces and parentheses: the fields after it follow the last ')'.
    rest = stat[stat.rfind(b")") + 2 :].split()
    try:
        return int(rest[19])  # field 22, starttime
    except (IndexError, ValueError):
        return None


@cache
def this_host() -> str:
    return socket.gethostname()


@cache
def own_start() -> int:
    return process_start(os.getpid()) or 0


def owner_alive(pid: int, started: int, host: str) -> bool:
    """False only when it is sure: same host, and no process `pid` started at `started`.
    A record without a pid (written by hand, or by a tool) cannot be judged: alive."""
    if pid <= 0:
        return True
    if host and host != this_host():
        return True  # another machine's process: cannot tell from here
    if pid == os.getpid():
        return not started or started == own_start()
    if os.path.isdir("/proc"):
        now = process_start(pid)
        return now is not None and (not started or now == started)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
