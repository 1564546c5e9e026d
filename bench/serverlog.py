"""What the server's own log says about a run.

The server writes one JSON line per request (status, duration_ms) and a
line for anything else worth saying (retried transactions, storage
errors). Reading the lines a run added gives the statuses as the server
saw them, its own answer time (without the network and wrk), and the
warnings and errors it logged under load.
"""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec


@dataclass(slots=True)
class LogTally:
    statuses: Counter[str] = field(default_factory=Counter)
    others: Counter[str] = field(default_factory=Counter)
    """Non-request lines by level and event, such as 'warning transaction_retried'."""
    durations: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        ordered = sorted(self.durations)
        return {
            "statuses": dict(sorted(self.statuses.items())),
            "server_p50_ms": _percentile(ordered, 50),
            "server_p99_ms": _percentile(ordered, 99),
            "other_lines": dict(self.others.most_common(10)),
        }


def _percentile(ordered: list[float], percent: float) -> float | None:
    if not ordered:
        return None
    index = min(len(ordered) - 1, int(len(ordered) * percent / 100))
    return ordered[index]


class LogReader:
    """Reads the lines a log file gained since the last `tally()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def skip(self) -> None:
        """Forget what was written so far (a warm-up's lines)."""
        self.offset = self.path.stat().st_size

    def tally(self) -> LogTally:
        tally = LogTally()
        with self.path.open("rb") as log:
            log.seek(self.offset)
            for line in log:
                if not line.endswith(b"\n"):
                    break  # still being written: read it next time
                _count(tally, line)
                self.offset += len(line)
        return tally


def _count(tally: LogTally, line: bytes) -> None:
    try:
        record = msgspec.json.decode(line)
    except msgspec.DecodeError:
        tally.others["unreadable line"] += 1
        return
    if not isinstance(record, dict):
        return
    if record.get("event") == "request" and "status" in record:
        tally.statuses[str(record["status"])] += 1
        duration = record.get("duration_ms")
        if isinstance(duration, int | float):
            tally.durations.append(float(duration))
        return
    tally.others[f"{record.get('level', '?')} {record.get('event', '?')}"] += 1
