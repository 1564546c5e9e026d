"""The figures of a run: a table on the terminal and the same as JSON.

Each stage adds figures (a measure, its value and unit, and its target
when the project has one) and details (everything else it learnt, for the
JSON only). A figure with a target is marked met or missed.
"""

import json
import os
import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

# Wide enough for the table when the output is a file or a pipe.
console = Console(highlight=False, width=None if Console().is_terminal else 100)


@dataclass(frozen=True, slots=True)
class Target:
    at_least: float | None = None
    at_most: float | None = None

    def met(self, value: float) -> bool:
        if self.at_least is not None and value < self.at_least:
            return False
        return self.at_most is None or value <= self.at_most

    def __str__(self) -> str:
        if self.at_least is not None:
            return f">= {_number(self.at_least)}"
        return f"<= {_number(self.at_most)}"


@dataclass(frozen=True, slots=True)
class Figure:
    stage: str
    measure: str
    value: float | None
    unit: str = ""
    target: Target | None = None

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        if self.value is None:
            return "not measured"
        return "met" if self.target.met(self.value) else "MISSED"

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "measure": self.measure,
            "value": self.value,
            "unit": self.unit,
            "target": str(self.target) if self.target else None,
            "verdict": self.verdict or None,
        }


@dataclass(slots=True)
class Report:
    options: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    def add(
        self,
        stage: str,
        measure: str,
        value: float | None,
        unit: str = "",
        target: Target | None = None,
    ) -> None:
        self.figures.append(Figure(stage, measure, value, unit, target))

    def value(self, stage: str, measure: str) -> float | None:
        for figure in self.figures:
            if figure.stage == stage and figure.measure == measure:
                return figure.value
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "started": datetime.fromtimestamp(self.started, UTC).isoformat(),
            "machine": _machine(),
            "options": self.options,
            "figures": [figure.as_dict() for figure in self.figures],
            "stage_seconds": self.timings,
            "failures": self.failures,
            "details": self.details,
        }


def _machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "system": platform.platform(),
        "cpus": os.cpu_count(),
    }


def print_table(report: Report) -> None:
    table = Table(title="Trackway bench")
    for column in ("stage", "measure", "value", "target", ""):
        table.add_column(column, justify="right" if column == "value" else "left")
    for figure in report.figures:
        value = "-" if figure.value is None else _number(figure.value)
        verdict = figure.verdict
        style = {"met": "green", "MISSED": "bold red"}.get(verdict, "")
        table.add_row(
            figure.stage,
            figure.measure,
            f"{value} {figure.unit}".strip(),
            str(figure.target or ""),
            f"[{style}]{verdict}[/]" if style else verdict,
        )
    console.print(table)
    for stage, seconds in report.timings.items():
        console.print(f"{stage}: {seconds:.0f} s")
    for stage, why in report.failures.items():
        console.print(f"[bold red]{stage} failed:[/] {why}")


def write_json(report: Report, folder: Path) -> Path:
    """Write latest.json and a copy named by the start time; return the
    path of latest.json."""
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report.as_dict(), indent=2) + "\n"
    stamp = datetime.fromtimestamp(report.started, UTC).strftime("%Y%m%dT%H%M%SZ")
    (folder / f"run-{stamp}.json").write_text(text)
    latest = folder / "latest.json"
    latest.write_text(text)
    return latest


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
