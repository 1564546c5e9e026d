"""The progress bar of long commands: done, rate and time left, on stderr.

Shown only on a terminal; messages printed through it do not tear it.
"""

from collections.abc import Callable
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class _Rate(ProgressColumn):
    """Items per second since the start (the bar itself may count bytes)."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        items = task.fields.get("items", 0)
        if elapsed <= 0:
            return Text("-/s")
        return Text(f"{items / elapsed:,.0f}/s")


class Bar:
    """A bar towards `total` (bytes of a file, or items), which also
    counts `items` under `label` and shows their rate.

    `position` tells where the work is when the bar measures something
    other than items (the bytes read so far).
    """

    def __init__(
        self,
        label: str,
        total: int | None,
        position: Callable[[], int] | None = None,
    ) -> None:
        # soft_wrap: a long message stays one line, whatever the width.
        self._console = Console(stderr=True, soft_wrap=True)
        self._bar = Progress(
            TextColumn(label),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[items]:,}"),
            _Rate(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=self._console,
            disable=not self._console.is_terminal,
        )
        self._task = self._bar.add_task(label, total=total, items=0)
        self._position = position
        self._items = 0

    def __enter__(self) -> Self:
        self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def advance(self, items: int) -> None:
        self._items += items
        if self._position is None:
            self._bar.update(self._task, completed=self._items, items=self._items)
            return
        where = self._position()
        self._bar.update(self._task, completed=where, items=self._items)

    def finish(self) -> None:
        task = self._bar.tasks[0]
        self._bar.update(self._task, completed=task.total or self._items)

    def say(self, message: str) -> None:
        self._console.print(message, markup=False, highlight=False)
