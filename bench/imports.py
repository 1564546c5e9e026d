"""Stage 3: `trackway import` against the raw executemany baseline.

Each file size is imported into a fresh migrated SQLite database with
org `default`; the wall time of the whole command (start-up included) and
its peak RSS (the kernel's ru_maxrss of the finished process) are
measured. The largest file is then inserted by bench/baseline.py into
another fresh database, and the two rates compared.
"""

import os
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.baseline import insert_baseline
from bench.importfile import VERSION, ImportFile, import_command, write_import_file
from bench.options import CACHE, Options
from bench.report import Report, Target
from bench.servers import BenchError, environment, run_trackway, trackway

RATIO_TARGET = Target(at_least=0.5)
EVENTS_PER_CUSTOMER = 10


@dataclass(frozen=True, slots=True)
class Imported:
    events: int
    seconds: float
    peak_rss_mb: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def cached_import_file(events: int, customers: int, seed: int) -> ImportFile:
    """The CSV of that many events and customers, made once and cached."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"import-v{VERSION}-{events}-{customers}-{seed}.csv"
    if not path.exists():
        return write_import_file(path, events, customers, seed)
    with path.open("rb") as text:
        rows = sum(1 for _ in text) - 1
    return ImportFile(path, rows, customers)


def fresh_database(folder: Path, name: str, org: bool = True) -> tuple[str, Path]:
    """A migrated SQLite database, with org `default` if `org`: its URL
    and file."""
    path = folder / f"{name}.db"
    url = f"sqlite:///{path}"
    run_trackway(url, "db", "upgrade")
    if org:
        run_trackway(url, "orgs", "create", "default")
    return url, path


def run_import(url: str, file: ImportFile, folder: Path) -> Imported:
    """Time `trackway import` of `file` and read its peak RSS."""
    log = folder / f"import-{file.rows}.txt"
    began = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            trackway(*import_command(file.path)),
            env=environment(url),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        # wait4, not wait: it also gives the finished process's rusage.
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise BenchError(f"trackway import failed; see {log}")
    stored = _events_stored(log)
    return Imported(stored, seconds, usage.ru_maxrss / 1024)


def _events_stored(log: Path) -> int:
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("events stored:"):
            return int(line.split(":")[1])
    raise BenchError(f"trackway import printed no 'events stored'; see {log}")


def stage(options: Options, report: Report, folder: Path) -> None:
    largest: tuple[ImportFile, Imported] | None = None
    for size in options.import_sizes:
        file = cached_import_file(size, size // EVENTS_PER_CUSTOMER, options.seed)
        url, _ = fresh_database(folder, f"import-{size}")
        imported = run_import(url, file, folder)
        label = f"{file.rows:,} events"
        report.add("import", f"events/s {label}", imported.rate, "ev/s")
        report.add("import", f"peak RSS {label}", imported.peak_rss_mb, "MB")
        report.details[f"import {size}"] = {
            "rows": file.rows,
            "customers": file.customers,
            "events_stored": imported.events,
            "seconds": round(imported.seconds, 1),
            "peak_rss_mb": round(imported.peak_rss_mb, 1),
        }
        if largest is None or file.rows > largest[0].rows:
            largest = (file, imported)
    if largest is not None:
        _baseline(report, folder, *largest)


def _baseline(
    report: Report, folder: Path, file: ImportFile, imported: Imported
) -> None:
    _, path = fresh_database(folder, "baseline")
    with sqlite3.connect(path) as connection:
        (org,) = connection.execute(
            "SELECT org_id FROM orgs WHERE name = 'default'"
        ).fetchone()
    began = time.monotonic()
    stored = insert_baseline(path, file.path, org)
    seconds = time.monotonic() - began
    label = f"{file.rows:,} events"
    rate = stored / seconds
    report.add("import", f"baseline executemany ev/s {label}", rate, "ev/s")
    ratio = imported.rate / rate
    report.add("import", f"import/baseline {label}", ratio, "", RATIO_TARGET)
    report.details["import baseline"] = {"events": stored, "seconds": seconds}
