"""The labelled-CSV reader on quoting edge cases and bad rows, and the bundled seed set."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mailtriage.classify.dataset import read_labelled_csv, read_mail_csv, seed_rows
from mailtriage.errors import UsageError

HEADER = "id,subject,body,label_type,label_priority\n"


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "rows.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_quoting_edge_cases(tmp_path: Path) -> None:
    text = (HEADER
            + '1,"Komma, in onderwerp","Regel 1\r\nRegel 2\n\n""geciteerd"" en ; ;",incident,high\n'
            + '2,,"Alleen body, geen onderwerp",change,\n'
            + '3,"Héllo ✓","",other,\n'
            + '\n'
            + '4,"Eind zonder newline","x",INCIDENT, Low')
    rows = read_labelled_csv(write(tmp_path, "\ufeff" + text))
    assert [r.subject for r in rows] == ["Komma, in onderwerp", "", "Héllo ✓",
                                         "Eind zonder newline"]
    assert rows[0].body == 'Regel 1\r\nRegel 2\n\n"geciteerd" en ; ;'
    assert rows[0].label_priority == "high"
    assert rows[1].label_priority is None
    assert (rows[3].label_type, rows[3].label_priority) == ("incident", "low")
    assert all(r.source == "csv" and r.weight == 1.0 for r in rows)


def test_extra_columns_are_ignored_and_order_is_free(tmp_path: Path) -> None:
    text = ("language,label_priority,body,id,source,label_type,subject\n"
            'nl,,"b",x1,seed,change,s\n')
    [row] = read_labelled_csv(write(tmp_path, text))
    assert (row.subject, row.body, row.label_type) == ("s", "b", "change")


@pytest.mark.parametrize(("text", "needle"), [
    ("id,subject,body,label_type\n1,a,b,incident\n", "label_priority"),
    (HEADER + "1,a,b,bug,\n", "label_type 'bug'"),
    (HEADER + "1,a,b,incident,urgent\n", "label_priority 'urgent'"),
    (HEADER + ",a,b,incident,\n", "empty id"),
    (HEADER + "1,,,incident,\n", "neither a subject nor a body"),
    (HEADER + "1,a,b,incident\n", "has 4 fields"),
    (HEADER + '1,"a,b,incident,\n', "not valid CSV"),
    (HEADER + '1,"a"x,b,incident,\n', "not valid CSV"),
    ("", "empty"),
])
def test_bad_rows_are_usage_errors(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(UsageError) as info:
        read_labelled_csv(write(tmp_path, text))
    assert needle in str(info.value)


def test_not_utf8_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not UTF-8"):
        read_labelled_csv(write(tmp_path, HEADER + "1,caf\xe9,b,incident,\n", "latin-1"))
    with pytest.raises(UsageError, match="does not exist"):
        read_labelled_csv(tmp_path / "missing.csv")


def test_mail_csv_needs_no_labels(tmp_path: Path) -> None:
    rows = read_mail_csv(write(tmp_path, 'id,subject,body,language\n7,"S","B\nC",en\n'))
    assert rows[0][0] == "7"
    assert (rows[0][1].subject, rows[0][1].body, rows[0][1].language) == ("S", "B\nC", "en")


def test_seed_set_is_large_bilingual_and_covers_every_label() -> None:
    rows = seed_rows()
    assert len(rows) >= 400
    assert len({r.id for r in rows}) == len(rows)
    langs = Counter(r.language for r in rows)
    assert langs["nl"] >= 150 and langs["en"] >= 150
    labels = Counter((r.example.label_type, r.example.label_priority) for r in rows)
    for key in [("incident", "high"), ("incident", "medium"), ("incident", "low"),
                ("change", None), ("other", None)]:
        assert labels[key] >= 40, key
    # no greeting or sign-off line is tied to a single class
    first_lines: dict[str, set[str]] = {}
    for r in rows:
        first = r.example.body.split("\n", 1)[0]
        first_lines.setdefault(first, set()).add(r.example.label_type)
    common = [line for line, types in first_lines.items()
              if sum(1 for r in rows if r.example.body.startswith(line + "\n")) >= 15]
    assert common and all(len(first_lines[line]) == 3 for line in common)
