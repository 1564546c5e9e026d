"""Checking an import file's rows in chunks, here and in a child process.

The child must hand over exactly what checking here gives: the same rows,
the same rejections in the same order, the same reason when the file
breaks off, and nothing at all left running once the import stops.
"""

import gzip
import json
import multiprocessing
import threading
from pathlib import Path

import pytest

from trackway import checking
from trackway.checking import Chunk, checked_in_child, chunks
from trackway.domain.policy import Policy
from trackway.imports import Columns, Format, open_source

POLICY = Policy()
CSV_COLUMNS = Columns(tracking="visitor", email="email")
HEADER = "visitor,user_id,email,session_id,event,timestamp,priceNum"


def csv_lines(count: int) -> list[str]:
    """Rows of a few visitors; every 400th row has a bad event name and
    every 700th a bad width, so rejections fall in several chunks."""
    lines = [HEADER]
    for n in range(count):
        name = "9lives" if n % 400 == 399 else "view"
        user = f"u{n % 7}" if n % 3 else ""
        email = f"p{n % 5}@example.com" if n % 4 == 0 else ""
        row = f"v{n % 11},{user},{email},s{n % 13},{name},2024-03-01 10:00:{n % 60:02d}"
        lines.append(row if n % 700 != 699 else row + ",1,extra")
        if n % 700 != 699:
            lines[-1] += f",{n}.5"
    return lines


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def here(path: Path, format: Format, columns: Columns) -> list[Chunk]:
    with open_source(path, format) as source:
        return list(chunks(source, columns, POLICY))


def in_child(path: Path, format: Format, columns: Columns) -> list[Chunk]:
    with checked_in_child(path, format, columns, POLICY) as checked:
        return list(checked)


def test_chunks_keep_rows_and_rejections_in_file_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checking, "CHUNK_ROWS", 400)
    path = write_csv(tmp_path / "events.csv", csv_lines(1000))

    found = here(path, Format.CSV, CSV_COLUMNS)

    assert [c.read for c in found] == [400, 400, 200]
    rows = [r.line for c in found for r in c.rows]
    rejected = [r.line for c in found for r in c.rejected]
    assert rows == sorted(rows)
    assert rejected == [401, 701, 801]
    assert len(rows) + len(rejected) == 1000
    assert found[-1].position == path.stat().st_size


def test_a_child_checks_a_csv_file_exactly_as_this_process_does(
    tmp_path: Path,
) -> None:
    path = write_csv(tmp_path / "events.csv", csv_lines(2500))

    expected = here(path, Format.CSV, CSV_COLUMNS)

    assert expected == in_child(path, Format.CSV, CSV_COLUMNS)
    assert [c.read for c in expected] == [1000, 1000, 500]


def test_a_child_checks_an_ndjson_file_exactly_as_this_process_does(
    tmp_path: Path,
) -> None:
    lines = [
        json.dumps({"event": "view", "timestamp": "2024-03-01T10:00:00Z", "nNum": n})
        for n in range(1200)
    ]
    lines[10] = "{not json"
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    columns = Columns(user=None, session=None, event_alias="name")

    expected = here(path, Format.NDJSON, columns)

    assert expected == in_child(path, Format.NDJSON, columns)
    assert [r.line for c in expected for r in c.rejected] == [11]


def test_a_file_cut_short_ends_the_childs_chunks_with_the_reason(
    tmp_path: Path,
) -> None:
    whole = gzip.compress(("\n".join(csv_lines(1500)) + "\n").encode())
    path = tmp_path / "events.csv.gz"
    path.write_bytes(whole[:-8])  # without the gzip trailer

    found = in_child(path, Format.CSV, CSV_COLUMNS)

    assert found == here(path, Format.CSV, CSV_COLUMNS)
    assert found[-1].broken is not None
    assert "cannot read the file" in found[-1].broken


def test_leaving_early_stops_the_child(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "events.csv", csv_lines(20_000))

    with checked_in_child(path, Format.CSV, CSV_COLUMNS, POLICY) as checked:
        first = next(checked)

    assert first.read == checking.CHUNK_ROWS
    assert multiprocessing.active_children() == []
    assert "trackway-import-receive" not in [t.name for t in threading.enumerate()]


def test_a_child_that_fails_fails_the_import_with_its_traceback() -> None:
    receiver, sender = multiprocessing.Pipe(duplex=False)
    sender.send_bytes(checking._encode(Chunk(failed="Traceback: boom")))

    with pytest.raises(RuntimeError, match="boom"):
        list(checking._received(checking._Ahead(receiver)))


def test_a_child_that_dies_without_a_word_fails_the_import() -> None:
    receiver, sender = multiprocessing.Pipe(duplex=False)
    sender.close()

    with pytest.raises(RuntimeError, match="stopped without a word"):
        list(checking._received(checking._Ahead(receiver)))


def test_a_meta_integer_beyond_64_bits_still_crosses_to_the_writer(
    tmp_path: Path,
) -> None:
    line = {"event": "view", "timestamp": "2024-03-01T10:00:00Z", "bigNum": 2**70}
    path = tmp_path / "events.ndjson"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    columns = Columns(user=None, session=None, event_alias="name")
    (chunk,) = here(path, Format.NDJSON, columns)

    crossed = checking._decode(checking._encode(chunk))

    assert crossed == chunk
    assert crossed.rows[0].event.meta["bigNum"] == 2**70
