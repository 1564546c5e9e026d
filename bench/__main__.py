"""`python -m bench`: run the stages, print the table, write the JSON.

Each stage works in a temporary folder of its own (databases, server
logs, wrk output), removed at the end unless --keep. A stage that fails
is reported and the others still run; the exit code is then 1.
"""

import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import imports, ingest, postgres, reads
from bench.options import Options, parse
from bench.report import Report, console, print_table, write_json
from bench.runs import Bodies, prepared_bodies
from bench.servers import BenchError

Stage = Callable[[Options, Report, Path], None]


def main(arguments: list[str] | None = None) -> int:
    options = parse(arguments)
    report = Report(options.as_dict())
    root = Path(tempfile.mkdtemp(prefix="trackway-bench-"))
    try:
        for name, stage in _plan(options, report):
            _run_stage(name, stage, options, report, root)
    finally:
        if options.keep:
            console.print(f"kept the stage folders in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print_table(report)
    console.print(f"results: {write_json(report, options.results)}")
    return 1 if report.failures else 0


def _plan(options: Options, report: Report) -> list[tuple[str, Stage]]:
    """The stages to run, in order, as (name, function)."""
    wanted = set(options.stages)
    plan: list[tuple[str, Stage]] = []
    bodies: list[Bodies] = []

    def with_bodies(run: Callable[[Options, Report, Bodies, Path], None]) -> Stage:
        def stage(options: Options, report: Report, folder: Path) -> None:
            if not bodies:
                bodies.append(_bodies(options, report))
            run(options, report, bodies[0], folder)

        return stage

    if "ceiling" in wanted:
        plan.append(("ceiling", with_bodies(ingest.ceiling)))
    if wanted & {"ingest", "half", "profile", "million"}:
        plan.append(("ingest", with_bodies(ingest.ingest)))
    if "import" in wanted:
        plan.append(("import", imports.stage))
    if "read" in wanted:
        plan.append(("read", reads.stage))
    if "postgres" in wanted:
        plan.append(("postgres", with_bodies(postgres.stage)))
    return plan


def _bodies(options: Options, report: Report) -> Bodies:
    began = time.monotonic()
    bodies = prepared_bodies(options)
    report.details["bodies"] = bodies.stats
    report.timings["bodies (made or cached)"] = round(time.monotonic() - began, 1)
    return bodies


def _run_stage(
    name: str, stage: Stage, options: Options, report: Report, root: Path
) -> None:
    folder = root / name
    folder.mkdir()
    # Other work on the machine skews every figure; the JSON keeps how busy
    # it was (1-minute load average) when each stage began.
    load = os.getloadavg()[0]
    report.details[f"{name} load average at start"] = load
    console.print(f"[bold]{name}[/] ... (load average {load:.1f})")
    began = time.monotonic()
    try:
        stage(options, report, folder)
    except BenchError as error:
        report.failures[name] = str(error)
    except Exception as error:
        # A bench bug or a server surprise: keep going, show where.
        traceback.print_exc()
        report.failures[name] = f"{type(error).__name__}: {error}"
    seconds = round(time.monotonic() - began, 1)
    report.timings[name] = seconds
    console.print(f"[bold]{name}[/] took {seconds:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
