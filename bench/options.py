"""The bench's command-line options: which stages, and how big.

Every size has a full value and a `--quick` value; a flag given on the
command line wins over both.
"""

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STAGES = (
    "ceiling", "ingest", "half", "profile", "million", "import", "read", "postgres",
)  # fmt: skip
RESULTS = Path(__file__).with_name("results")
CACHE = Path(__file__).with_name(".cache")
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True, slots=True)
class Options:
    stages: tuple[str, ...]
    quick: bool
    seed: int
    visitors: int
    connections: tuple[int, ...]
    seconds: float
    warmup: float
    threads: int
    million: int
    import_sizes: tuple[int, ...]
    read_events: int
    read_customers: int
    read_seconds: float
    read_connections: int
    postgres_url: str
    postgres_workers: tuple[int, ...]
    results: Path
    keep: bool

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["results"] = str(self.results)
        return values


# (full, quick) for each size that --quick shrinks.
_SIZES: dict[str, tuple[Any, Any]] = {
    "visitors": (100_000, 4_000),
    "seconds": (30.0, 3.0),
    "warmup": (5.0, 1.0),
    "million": (1_000_000, 2_000),
    "import_sizes": ((200_000, 1_000_000), (2_000, 8_000)),
    "read_events": (5_000_000, 6_000),
    "read_customers": (500_000, 600),
    "read_seconds": (10.0, 2.0),
}


def _sized(help: str, name: str) -> str:
    full, quick = (_shown(value) for value in _SIZES[name])
    return f"{help} Default {full}; with --quick {quick}."


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(_shown(part) for part in value)
    return f"{value:_}" if isinstance(value, int) else f"{value:g}"


def _counts(text: str) -> tuple[int, ...]:
    return tuple(int(part.replace("_", "")) for part in text.split(","))


def _stages(text: str) -> tuple[str, ...]:
    wanted = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [stage for stage in wanted if stage not in STAGES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown stage {', '.join(unknown)}; choose from {', '.join(STAGES)}"
        )
    return wanted


# Flags of the sizes in _SIZES: (type, help).
_SIZE_FLAGS: dict[str, tuple[Any, str]] = {
    "visitors": (int, "Distinct visitors in the ingest bodies."),
    "seconds": (float, "Length of each measured wrk run."),
    "warmup": (float, "Length of the wrk warm-up before each run."),
    "million": (int, "Events to ingest before reading RSS."),
    "import_sizes": (_counts, "Import file sizes in events, comma-separated."),
    "read_events": (int, "Events imported for the read stage."),
    "read_customers": (int, "Customers among those events."),
    "read_seconds": (float, "wrk run length per read endpoint."),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure Trackway's throughput, latency and memory.",
    )
    add = parser.add_argument
    stages = ", ".join(STAGES)
    add("--only", type=_stages, default=STAGES, metavar="STAGES",
        help=f"Stages, comma-separated: {stages}. Default: all.")  # fmt: skip
    add("--quick", action="store_true", help="Small sizes: a smoke run.")
    add("--seed", type=int, default=20261203, help="Seed of the generated data.")
    for name, (kind, help) in _SIZE_FLAGS.items():
        add(f"--{name.replace('_', '-')}", type=kind, help=_sized(help, name))
    add("--connections", type=_counts, default=(32, 128), metavar="N,N",
        help="wrk connections of the ingest runs. Default 32,128.")  # fmt: skip
    add("--threads", type=int, default=1, help="wrk threads (the server has 1 core).")
    add("--read-connections", type=int, default=1, help="wrk connections on reads.")
    add("--postgres-url", default=POSTGRES_URL, help="A PostgreSQL server to use.")
    add("--postgres-workers", type=_counts, default=(1, 2), metavar="N,N",
        help="Server processes of the postgres stage. Default 1,2.")  # fmt: skip
    add("--results", type=Path, default=RESULTS, help="Folder of the JSON results.")
    add("--keep", action="store_true", help="Keep the temporary folders.")
    return parser


def parse(arguments: list[str] | None = None) -> Options:
    given = vars(_parser().parse_args(arguments))
    quick = given["quick"]
    for name, (full, small) in _SIZES.items():
        if given[name] is None:
            given[name] = small if quick else full
    only = given.pop("only")
    stages = tuple(stage for stage in STAGES if stage in only)
    return Options(stages=stages, **given)
