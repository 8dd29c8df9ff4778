"""Reads labelled examples: the contract's CSV shape, and the seed set bundled with the package.

CSV: UTF-8 (a byte-order mark is allowed) with a header row; columns ``id, subject, body,
label_type, label_priority`` (extra columns are ignored; ``label_priority`` may be left out when
unlabelled rows are read for classification). Bodies span lines, so real CSV quoting is used.
Every bad row or missing column is a ``UsageError`` that names the record and the column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mailtriage.classify.decision import PRIORITIES, TYPES, ClassifyInput, Priority, TicketType
from mailtriage.errors import UsageError

LABELLED_COLUMNS = ("id", "subject", "body", "label_type", "label_priority")
MAIL_COLUMNS = ("id", "subject", "body")
MAX_FIELD = 10 * 1024 * 1024
SEED_FILE = "seed.csv"


@dataclass(frozen=True)
class Example:
    """One labelled mail for training; ``weight`` counts it that many times, ``source`` says
    where it came from (``seed``, ``csv``, ``correction``)."""

    subject: str
    body: str
    label_type: TicketType
    label_priority: Priority | None
    weight: float = 1.0
    source: str = "seed"


@dataclass(frozen=True)
class LabelledRow:
    """A CSV row with its id, as read for evaluation."""

    id: str
    example: Example
    language: str | None


def _records(text: str, name: str,
             required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    if csv.field_size_limit() < MAX_FIELD:
        csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise UsageError(f"{name} is empty; expected a header row with "
                         f"{', '.join(required)}.") from None
    except csv.Error as exc:
        raise UsageError(f"{name}: the header row is not valid CSV: {exc}.") from None
    header = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        raise UsageError(f"{name} lacks the column(s) {', '.join(missing)}; the header is "
                         f"{', '.join(header) or '(empty)'}.")
    dupes = sorted({h for h in header if header.count(h) > 1 and h in required})
    if dupes:
        raise UsageError(f"{name} has the column {dupes[0]} more than once.")
    number = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UsageError(f"{name}: record {number + 1} (near line {reader.line_num}) is not "
                             f"valid CSV: {exc}.") from None
        number += 1
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise UsageError(f"{name}: record {number} (ending at line {reader.line_num}) has "
                             f"{len(row)} fields, the header has {len(header)}; check the "
                             "quoting of multi-line bodies.")
        yield reader.line_num, dict(zip(header, row, strict=True))


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"The CSV file {path} does not exist.") from None
    except OSError as exc:
        raise UsageError(f"The CSV file {path} cannot be read: {exc}.") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"The CSV file {path} is not UTF-8 (byte {exc.start}).") from None


def parse_labelled_csv(text: str, *, name: str = "CSV", source: str = "csv",
                       weight: float = 1.0) -> list[LabelledRow]:
    """The labelled rows of CSV ``text``; ``UsageError`` on a bad row or column."""
    rows: list[LabelledRow] = []
    for line, rec in _records(text, name, LABELLED_COLUMNS):
        rid = rec["id"].strip()
        where = f"{name}: the record ending at line {line}" + (f" (id {rid})" if rid else "")
        if not rid:
            raise UsageError(f"{where} has an empty id.")
        type_ = rec["label_type"].strip().lower()
        if type_ not in TYPES:
            raise UsageError(f"{where} has label_type {rec['label_type']!r}; expected "
                             f"{', '.join(TYPES)}.")
        prio = rec["label_priority"].strip().lower()
        if prio and prio not in PRIORITIES:
            raise UsageError(f"{where} has label_priority {rec['label_priority']!r}; expected "
                             f"{', '.join(PRIORITIES)} or empty.")
        if not rec["subject"].strip() and not rec["body"].strip():
            raise UsageError(f"{where} has neither a subject nor a body.")
        lang = rec.get("language", "").strip().lower() or None
        example = Example(subject=rec["subject"], body=rec["body"], label_type=type_,
                          label_priority=prio or None,
                          weight=weight, source=source)
        rows.append(LabelledRow(id=rid, example=example, language=lang))
    return rows


def read_labelled_rows(path: Path, *, source: str = "csv",
                       weight: float = 1.0) -> list[LabelledRow]:
    """The labelled rows of the CSV file at ``path``, with their ids."""
    return parse_labelled_csv(_read_text(path), name=str(path), source=source, weight=weight)


def read_labelled_csv(path: Path, *, source: str = "csv", weight: float = 1.0) -> list[Example]:
    """The examples of the labelled CSV file at ``path`` (the contract's shape)."""
    return [r.example for r in read_labelled_rows(path, source=source, weight=weight)]


def read_mail_csv(path: Path) -> list[tuple[str, ClassifyInput]]:
    """(id, input) per row of a CSV with at least ``id, subject, body`` (labels are ignored)."""
    name = str(path)
    out: list[tuple[str, ClassifyInput]] = []
    for line, rec in _records(_read_text(path), name, MAIL_COLUMNS):
        rid = rec["id"].strip()
        if not rid:
            raise UsageError(f"{name}: the record ending at line {line} has an empty id.")
        lang = rec.get("language", "").strip().lower()
        out.append((rid, ClassifyInput(subject=rec["subject"], body=rec["body"],
                                       language=lang if lang in ("nl", "en") else None)))
    return out


def seed_rows() -> list[LabelledRow]:
    """The bundled seed set (Dutch and English helpdesk mails written for this project)."""
    text = resources.files("mailtriage.classify").joinpath("seed", SEED_FILE).read_text("utf-8")
    return parse_labelled_csv(text, name=f"bundled seed/{SEED_FILE}", source="seed")


def seed_examples() -> list[Example]:
    """The bundled seed set as training examples of weight 1."""
    return [r.example for r in seed_rows()]
