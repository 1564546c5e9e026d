"""The file of rejected rows that `trackway import --rejected FILE` writes.

Rows are written as they were, in the format they came in (a CSV file
gets the header, an export file its first line), so the file can be
fixed and imported on its own. Why each row was rejected is said on
stderr with its line number in the original file. A line that could not
be read as a row at all (broken CSV quoting) is only reported.
"""

import csv
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from trackway.imports import Format, Rejected


class RejectedFile:
    def __init__(
        self, path: Path, format: Format, first: list[str] | str | None
    ) -> None:
        self.path = path
        self.format = format
        self.rows = 0
        # surrogateescape: bytes that were not UTF-8 go back as they came.
        self._file: IO[str] = path.open(
            "w", encoding="utf-8", errors="surrogateescape", newline=""
        )
        self._csv = csv.writer(self._file) if format is Format.CSV else None
        if isinstance(first, list) and self._csv is not None:
            self._csv.writerow(first)
        elif isinstance(first, str):
            self._file.write(first + "\n")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def write(self, rejected: Rejected) -> None:
        raw = rejected.raw
        if raw is None:
            return
        if isinstance(raw, list) and self._csv is not None:
            self._csv.writerow(raw)
        elif isinstance(raw, str):
            self._file.write(raw + "\n")
        else:
            return
        self.rows += 1
