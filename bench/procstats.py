"""Memory and CPU of a process and its children, read from /proc.

A server under `--workers N` is a supervisor with N worker children, so
every figure sums the whole tree.
"""

import os
from pathlib import Path

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    """`pid` and every living descendant of it."""
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat_fields(int(entry.name))
        if stat is not None:
            children.setdefault(int(stat[1]), []).append(int(entry.name))
    found, waiting = [], [pid]
    while waiting:
        current = waiting.pop()
        found.append(current)
        waiting.extend(children.get(current, []))
    return found


def rss_bytes(pid: int) -> int:
    """Resident memory of the tree (VmRSS of each process, summed)."""
    return _summed(pid, "VmRSS")


def peak_rss_bytes(pid: int) -> int:
    """The peaks of resident memory of the tree's processes (VmHWM),
    summed: an upper bound of the tree's peak."""
    return _summed(pid, "VmHWM")


def _summed(pid: int, field: str) -> int:
    return sum(_status_kib(member, field) * 1024 for member in tree(pid))


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the tree has used so far."""
    ticks = 0
    for member in tree(pid):
        stat = _stat_fields(member)
        if stat is not None:
            # Fields 14 and 15 of /proc/PID/stat: utime and stime.
            ticks += int(stat[11]) + int(stat[12])
    return ticks / _TICKS


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, which may hold
    spaces and parentheses; index 0 is the state, 1 the parent pid."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None  # the process ended while we looked
    return text[text.rindex(")") + 2 :].split()


def _status_kib(pid: int, field: str) -> int:
    try:
        lines = (_PROC / str(pid) / "status").read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    return 0
