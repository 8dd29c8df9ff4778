"""The worker processes parse and classify; the result is the one the main process would get.

A run with a pool must store the same tickets, with the same decisions, as a run without one,
and its main process must not import scikit-learn.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mailtriage.classify.engine import Classifier
from mailtriage.config import ClassifyConfig, Config, DatabaseConfig, StorageConfig
from mailtriage.ingest.message import RawMail
from mailtriage.services import intake
from mailtriage.services.intake import classification_inputs, prepare
from mailtriage.services.pipeline import CHUNK_BYTES, CHUNK_MAILS, Pipeline, _chunks
from mailtriage.services.worker import prepare_chunk
from mailtriage.store.database import Database
from tests.services.conftest import customer_mail, db_rows, run_child, write_setup
from tests.services.test_pipeline_local import make_maildir

NOW = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)

SUBJECTS = [
    ("Webshop ligt eruit", "Sinds vanochtend is de webshop onbereikbaar, klanten kunnen niet "
                           "afrekenen. Graag met spoed oppakken."),
    ("Graag een extra pagina", "Wij willen graag een nieuwe pagina voor vacatures op de site. "
                               "Kunnen jullie een offerte sturen?"),
    ("Question about the invoice", "Could you send us a copy of the March invoice?"),
    ("Contact form broken", "The contact form returns an error 500 since the last deploy."),
]
OUT_OF_OFFICE = (b"From: Jan <jan@klant.example>\r\nTo: helpdesk@example.test\r\n"
                 b"Subject: Afwezig: uw melding\r\nAuto-Submitted: auto-replied\r\n"
                 b"Message-ID: <ooo@klant.example>\r\n\r\nIk ben afwezig tot maandag.\r\n")
BOUNCE = (b"From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\n"
          b"To: helpdesk@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
          b"Message-ID: <bounce@mx.example>\r\nContent-Type: multipart/report; "
          b"report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n"
          b"\r\nThe mail could not be delivered.\r\n--b\r\nContent-Type: message/delivery-status"
          b"\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; x@y.example"
          b"\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n")


def mails(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        subject, body = SUBJECTS[i % len(SUBJECTS)]
        out.append(customer_mail(i, subject=f"{subject} ({i})", body=body))
    return out


def raw(data: bytes, uid: int) -> RawMail:
    return RawMail("helpdesk", "INBOX", 1, str(uid), data, len(data), NOW)


def test_a_chunk_is_parsed_and_its_candidates_classified_as_here(tmp_path: Path) -> None:
    cfg = ClassifyConfig(model_dir=tmp_path / "model")
    data = [*mails(8), OUT_OF_OFFICE, BOUNCE, b"\x00\x01 not a mail"]
    raws = [raw(d, n) for n, d in enumerate(data)]

    fields, problems = prepare_chunk(raws, NOW, cfg)

    here = [prepare(r, NOW) for r in raws]
    expected = Classifier.load(cfg).classify_batch([i for _, i in classification_inputs(here)])
    wanted = [i for i, _ in classification_inputs(here)]
    decisions = [f[4] for f in fields]
    assert problems == []
    assert [decisions[i] for i in wanted] == expected
    assert decisions[9] is None  # the bounce is a delivery report: never a ticket
    assert [f[0] == p.parsed for f, p in zip(fields, here, strict=True)] == [True] * len(raws)
    assert [f[3] for f in fields] == [r.sha256 for r in raws]


def test_a_chunk_of_sent_mail_is_only_parsed(tmp_path: Path) -> None:
    fields, problems = prepare_chunk([raw(d, n) for n, d in enumerate(mails(3))], NOW, None)
    assert [f[4] for f in fields] == [None, None, None] and problems == []
    assert all(f[0] is not None for f in fields)


def test_a_broken_model_leaves_the_rules_and_says_so(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    (model_dir / "versions" / "v1").mkdir(parents=True)
    (model_dir / "active").write_text("v1\n")  # a version without its files
    fields, problems = prepare_chunk([raw(d, n) for n, d in enumerate(mails(2))], NOW,
                                     ClassifyConfig(model_dir=model_dir))
    assert len(problems) == 1 and problems[0].startswith("model: ")
    assert all(f[4] is not None and f[4].model_version is None for f in fields)


@pytest.mark.parametrize("sizes, workers, expected", [
    ([100] * 200, 1, [50] * 4),
    ([100] * 200, 4, [12] * 16 + [8]),
    ([100] * 10, 1, [2] * 5),
    ([100] * 64, 2, [8] * 8),
    ([CHUNK_BYTES // 2] * 40, 1, [2] * 20),
    ([CHUNK_BYTES * 3, 10, 10], 1, [1, 1, 1]),
])
def test_batches_are_cut_into_chunks(sizes: list[int], workers: int,
                                     expected: list[int]) -> None:
    batch = [raw(b"x" * size, n) for n, size in enumerate(sizes)]
    chunks = _chunks(batch, workers)
    assert [len(c) for c in chunks] == expected
    assert [r for c in chunks for r in c] == batch
    assert max(len(c) for c in chunks) <= CHUNK_MAILS


REPORT_SKLEARN = """\
import atexit
atexit.register(lambda: print("sklearn imported:", "sklearn" in sys.modules, file=sys.stderr))
"""


def test_a_run_with_a_pool_stores_what_a_run_without_one_stores(tmp_path: Path) -> None:
    data = [*mails(90), OUT_OF_OFFICE]
    results = {}
    for workers in ("0", "1"):
        box = tmp_path / f"box{workers}"
        make_maildir(box, data)
        setup = write_setup(tmp_path / f"site{workers}", mailbox=[
            {"name": "helpdesk", "kind": "maildir", "path": str(box)}])
        done = run_child(setup, "run", "--json", "--workers", workers, hook=REPORT_SKLEARN,
                         timeout=240)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["mailboxes"][0]["fetched"] == 91
        results[workers] = (
            db_rows(setup, "SELECT number, type, priority, round(confidence, 6), needs_review, "
                           "decided_by FROM tickets ORDER BY number"),
            done.stderr)
    rows0, err0 = results["0"]
    rows1, err1 = results["1"]
    assert len(rows1) == 90
    assert rows1 == rows0
    assert "sklearn imported: True" in err0
    assert "sklearn imported: False" in err1  # the workers classified


@pytest.fixture
def pool_pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    config = Config(database=DatabaseConfig(url=f"sqlite:///{tmp_path / 'db.sqlite'}"),
                    storage=StorageConfig(directory=tmp_path / "files"),
                    classify=ClassifyConfig(model_dir=tmp_path / "model"))
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        pipeline = Pipeline(config, Database(config.database.url), now=lambda: NOW,
                            executor=pool)
        pipeline._pool_live = True
        yield pipeline


@pytest.mark.parametrize("busy_for, parsed_here, tasks", [
    # the workers are idle: the whole batch goes to them, a chunk a task
    (0, 0, ["prepare_chunk"] * 4),
    # busy until this process parsed one chunk: the rest goes to them
    (1, 16, ["classify_inputs"] + ["prepare_chunk"] * 3),
    # busy all along: this process parses it all, the workers classify it in one call
    (None, 64, ["classify_inputs"]),
])
def test_while_the_workers_are_busy_this_process_parses_and_they_classify(
        pool_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, busy_for: int | None,
        parsed_here: int, tasks: list[str]) -> None:
    earlier: Future[None] = Future()
    if busy_for == 0:
        earlier.set_result(None)
    pool_pipeline._in_flight = [earlier]
    here: list[str] = []
    real = intake.prepare
    raws = [raw(d, n) for n, d in enumerate([*mails(63), BOUNCE])]
    chunk = len(_chunks(raws, 1)[0])  # 16: a quarter of the batch for one worker

    def watched(raw_mail: RawMail, now: datetime) -> intake.Prepared:
        if os.getpid() == main_pid:
            here.append(raw_mail.uid)
            if busy_for is not None and len(here) == busy_for * chunk:
                earlier.set_result(None)
        return real(raw_mail, now)

    main_pid = os.getpid()
    monkeypatch.setattr(intake, "prepare", watched)
    assert pool_pipeline.executor is not None
    submitted: list[str] = []
    submit = pool_pipeline.executor.submit

    def recorded(fn: Any, *args: Any, **kwargs: Any) -> Future[Any]:
        submitted.append(fn.__name__)
        return submit(fn, *args, **kwargs)

    monkeypatch.setattr(pool_pipeline.executor, "submit", recorded)

    done = pool_pipeline.submit_parse(raws)()

    assert len(here) == parsed_here
    assert submitted == tasks
    expected = [prepare(r, NOW) for r in raws]
    decisions = Classifier.load(pool_pipeline.config.classify).classify_batch(
        [i for _, i in classification_inputs(expected)])
    wanted = [i for i, _ in classification_inputs(expected)]
    assert [p.raw.uid for p in done] == [r.uid for r in raws]
    assert [done[i].decision for i in wanted] == decisions  # every candidate classified
    assert done[63].decision is None  # a delivery report is no candidate
    assert [p.parsed == e.parsed for p, e in zip(done, expected, strict=True)] == [True] * 64
