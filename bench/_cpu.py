"""CPU seconds used by the processes of a bench run, read from /proc (Linux).

A child's CPU counts while it lives (utime/stime) and in its parent once reaped (cutime/cstime),
never twice, so a process group's or a server's total holds the children it has had.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessCpu:
    pid: int
    parent: int
    group: int
    seconds: float  # incl. reaped children


def processes() -> list[ProcessCpu]:
    """Every process we can read, with its CPU seconds so far."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as file:
                text = file.read()
        except OSError:  # gone meanwhile
            continue
        fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
        ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        found.append(ProcessCpu(int(entry), int(fields[1]), int(fields[2]), ticks / CLOCK_TICKS))
    return found


def group_seconds(stats: list[ProcessCpu], group: int) -> float:
    """A process group: what `LiveSystem` starts (each process leads its own group, children included)."""
    return sum(p.seconds for p in stats if p.group == group)


def server_seconds(stats: list[ProcessCpu], pid: int) -> float:
    """A server and its direct children: PostgreSQL's postmaster with its backends and helpers."""
    return sum(p.seconds for p in stats if pid in (p.pid, p.parent))


def database_seconds(stats: list[ProcessCpu], postmaster: int, database: str) -> float:
    """PostgreSQL's work for one database on a shared server: the backends connected to `database`
    and the server's helpers (WAL writer, checkpointer...), while they live. Others' backends, and the
    postmaster's reaped children (whoever's they were), are not counted: on a machine shared with other
    test runs they are most of the server's CPU. A backend of `database` that exits mid-run goes
    uncounted too, so the app under measurement must keep its connections (CONN_MAX_AGE)."""
    return sum(p.seconds for p in stats if p.parent == postmaster and _serves(p.pid, database))


def _serves(pid: int, database: str) -> bool:
    # A backend's title is "postgres: [cluster: ]user database host(port) state"; a helper's has no client address.
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            words = file.read().replace(b"\0", b" ").decode(errors="replace").split()
    except OSError:  # gone meanwhile
        return False
    is_backend = any(word == "[local]" or (word.endswith(")") and "(" in word) for word in words)
    return database in words if is_backend else True


def own_seconds() -> float:
    """This process (a bench's driver or load generator), all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ms_per_item(before: dict[str, float], after: dict[str, float], items: int) -> dict[str, float]:
    """Milliseconds of CPU per item by part, between two readings of {part: seconds}, busiest first."""
    used = {part: 1000 * (after[part] - before.get(part, 0.0)) / items for part in after}
    return dict(sorted(used.items(), key=lambda pair: -pair[1]))


def postmaster_pid(connection) -> int | None:
    """The PostgreSQL server's pid, when it runs on this machine and its data directory is readable."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        data_directory = cursor.fetchone()[0]
    try:
        return int((Path(data_directory) / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
