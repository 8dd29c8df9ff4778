"""One scheduled cycle of ``mailtriage run``: fetch, parse, classify, store, answer, deliver.

This is the one module that composes the core packages (ingest, classify, sla, notify) with the
store. Per mailbox it streams batches from the source, parses and classifies them (in the worker
processes when the first batch is large, ``services.worker``; else here, the candidates for new
tickets in one call), stores the batch in one transaction, then marks the batch processed on the
server and advances the cursor. Mail on the server is touched only after the commit.

The stages overlap: while batch k is stored, batch k+1 is parsed and classified in the process
pool and a thread already fetches batch k+2 (``parallel.prefetch``; the IMAP source serialises
its conversations, so that thread and ``mark_processed`` never interleave commands). Batches are
still stored, committed and marked strictly in order. While the workers are busy (loading the
classifier, parsing the previous batch), this process parses the next chunks itself rather than
wait, and the workers only classify them. The replies a batch queued are sent right after its
commit, while the workers parse the next batch: the first customers hear back within the run,
not after it, and the sending costs no time of its own while parsing is the slower stage.
Parsing, classification, the reply templates and the staff alerts are imported only when there
is work for them, so a run with nothing new stays cheap; with a pool, this process never
imports scikit-learn at all.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from contextlib import closing, contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import SQLAlchemyError

from mailtriage.classify.decision import Decision
from mailtriage.config import Config, MailboxConfig
from mailtriage.errors import LockHeldError, MailboxError, MailtriageError, StoreError
from mailtriage.ingest.message import RawMail
from mailtriage.ingest.sources.base import Cursor as SourceCursor
from mailtriage.ingest.sources.base import MailSource, open_source
from mailtriage.lock import RunLock
from mailtriage.services import delivery
from mailtriage.services.parallel import prefetch
from mailtriage.services.report import MailboxReport, RunReport
from mailtriage.store import lease
from mailtriage.store.database import Database
from mailtriage.store.models import Cursor, RunLease
from mailtriage.store.schema import ensure_schema

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailtriage.notify.transport import Transport
    from mailtriage.services.intake import IntakeContext, Outcome, Prepared

log = logging.getLogger("mailtriage.pipeline")

LEASE_NAME = "run"
LEASE_TTL = timedelta(minutes=30)
PARALLEL_PARSE_MIN = 64
DELIVERY_PASS = 500
"""Outbox rows claimed per delivery pass; passes repeat until nothing due is left."""


ProgressFn = Callable[[str, int], None]


class Pipeline:
    """Composes sources, parser, classifier, SLA, replies, store and delivery for one run."""

    def __init__(self, config: Config, db: Database, *,
                 now: Callable[[], datetime] | None = None, dry_run: bool = False,
                 executor: Executor | None = None, progress: ProgressFn | None = None,
                 heartbeat: Callable[[], None] | None = None) -> None:
        self.config = config
        self.db = db
        self.heartbeat = heartbeat
        self.now = now or (lambda: datetime.now(UTC))
        self.dry_run = dry_run
        self.executor = executor
        self.progress = progress
        self._classifier: object | None = None
        self._last_outcomes: list[Outcome] = []
        self._marked: dict[tuple[str, str], int] = {}
        self.problems: list[str] = []
        self._intake: IntakeContext | None = None
        self._classifier_loader: threading.Thread | None = None
        self._classifier_error: BaseException | None = None
        self._pool_live = False
        self._in_flight: list[Future[Any]] = []
        """The pool's bigger work not yet known to be done: the classifier load, then the
        chunks of the last batch sent there. Classifying what this process parsed is left
        out: counting it would make this process, which also stores and sends and is the
        busier of the two on a large mailbox, parse the next batch as well."""
        self._transport: Transport | None = None
        self._delivery: delivery.DeliveryReport | None = None
        self._send_between_batches = not dry_run

    @property
    def intake(self) -> IntakeContext:
        """What storing needs (file store, SLA calendar, reply templates), built on first use."""
        if self._intake is None:
            from mailtriage.services.commitments import CommitmentCalculator
            from mailtriage.services.intake import IntakeContext
            from mailtriage.services.replies import ReplyComposer
            from mailtriage.store.files import FileStore

            config = self.config
            own = {config.smtp.from_address.lower(), *config.notify.own_addresses}
            self._intake = IntakeContext(
                config=config, files=FileStore(config.storage.directory),
                commitments=CommitmentCalculator(config),
                replies=ReplyComposer(config, self.now, dry_run=self.dry_run),
                now=self.now, store_files=not self.dry_run, own_addresses=frozenset(own),
            )
        return self._intake

    # -- classification -------------------------------------------------------------------

    def classify(self, items: Sequence[Prepared]) -> dict[int, Decision]:
        """The decisions for the mails that may open a ticket: those the worker processes
        made, and the rest classified here in one batch (the model is loaded lazily)."""
        from mailtriage.services.intake import classification_inputs

        done = {i: p.decision for i, p in enumerate(items) if p.decision is not None}
        wanted = classification_inputs(items)
        if not wanted:
            return done
        loader = self._classifier_loader
        if loader is not None:
            loader.join()
            self._classifier_loader = None
        if self._classifier_error is not None:
            error, self._classifier_error = self._classifier_error, None
            raise error
        if self._classifier is None:
            self._load_classifier()
        classifier = self._classifier
        results = classifier.classify_batch([i for _, i in wanted])  # type: ignore[union-attr]
        done.update((i, d) for (i, _), d in zip(wanted, results, strict=True))
        return done

    def _load_classifier(self) -> None:
        from mailtriage.classify.engine import Classifier

        self._classifier, problem = Classifier.load_or_rules(self.config.classify)
        self._problem(problem)

    def _problem(self, problem: str | None) -> None:
        if problem and problem not in self.problems:
            self.problems.append(problem)

    def _start_classifier_load(self) -> None:
        """Load the classifier (scikit-learn, the model) in a thread while the first batches
        are fetched and parsed; ``classify`` waits for it and re-raises what it raised."""
        if self._classifier is not None or self._classifier_loader is not None:
            return

        def load() -> None:
            try:
                self._load_classifier()
            except BaseException as exc:  # handed over to classify()
                self._classifier_error = exc

        self._classifier_loader = threading.Thread(target=load, name="mailtriage-classifier",
                                                   daemon=True)
        self._classifier_loader.start()

    # -- parsing ------------------------------------------------------------------------------

    def submit_parse(self, batch: Sequence[RawMail], role: str = "inbox"
                     ) -> Callable[[], list[Prepared]]:
        """Start parsing ``batch``; the returned function waits for and returns the result.

        Once the process pool is in use, batches go there in chunks (``_chunks``), and the
        workers classify the inbox mail as well; only the results travel back: the raw bytes
        stay here. While the workers are still busy with earlier work (loading the
        classifier, parsing the previous batch), this process, which would only wait for
        them, parses the next chunks itself and sends the workers no more than what the
        classifier reads, all it parsed in one call; the first chunk that finds them done
        goes to them with the rest of the batch.
        """
        from mailtriage.services.intake import prepare

        now = self.now()
        if self.executor is None or not self._pool_live:
            done = [prepare(raw, now) for raw in batch]
            return lambda: done
        chunks = _chunks(batch, _workers(self.executor))
        here: list[Prepared] = []
        while chunks and any(not f.done() for f in self._in_flight):
            here.extend(prepare(raw, now) for raw in chunks.pop(0))
        parts: list[Callable[[], list[Prepared]]] = []
        if here:
            parts.append(self._classify_in_pool(here, role))
        if chunks:
            self._in_flight = []
            parts.extend(self._parse_in_pool(c, now, role) for c in chunks)
        return lambda: [p for part in parts for p in part()]

    def _parse_in_pool(self, chunk: list[RawMail], now: datetime, role: str
                       ) -> Callable[[], list[Prepared]]:
        from mailtriage.services.intake import Prepared
        from mailtriage.services.worker import prepare_chunk

        assert self.executor is not None
        future = self.executor.submit(prepare_chunk, [_portable(r) for r in chunk], now,
                                      self.config.classify if role == "inbox" else None)
        self._in_flight.append(future)

        def collect() -> list[Prepared]:
            fields, problems = future.result()
            for problem in problems:
                self._problem(problem)
            return [Prepared(raw, *f) for raw, f in zip(chunk, fields, strict=True)]
        return collect

    def _classify_in_pool(self, done: list[Prepared], role: str
                          ) -> Callable[[], list[Prepared]]:
        """Let a worker classify the candidates of ``done``, mail parsed here, in one call:
        scikit-learn's cost per call is about that of ten mails."""
        from mailtriage.services.intake import classification_inputs
        from mailtriage.services.worker import classify_inputs

        assert self.executor is not None
        wanted = classification_inputs(done) if role == "inbox" else []
        if not wanted:
            return lambda: done
        future = self.executor.submit(classify_inputs, [i for _, i in wanted],
                                      self.config.classify)

        def collect() -> list[Prepared]:
            decisions, problems = future.result()
            for problem in problems:
                self._problem(problem)
            if decisions is not None:  # else ``classify`` does it here
                for (i, _), decision in zip(wanted, decisions, strict=True):
                    done[i] = replace(done[i], decision=decision)
            return done
        return collect

    def _parsed(self, batches: Iterable[list[RawMail]], role: str = "inbox"
                ) -> Iterator[tuple[list[RawMail], list[Prepared]]]:
        """Parsed batches, in order, with the next batch parsing and the one after fetching
        while the caller stores the current one.

        The first batch is fetched here, before any thread exists, so the process pool forks
        from a single-threaded process. A mailbox error while fetching ahead is raised only
        after every batch fetched before it was handed on.
        """
        it = iter(batches)
        first = next((b for b in it if b), None)
        if first is None:
            return
        from mailtriage.services.heap import return_large_blocks

        return_large_blocks()  # before the pool forks: its workers inherit the setting
        # The pool forks its workers on first use; that must happen here, while this process
        # has no other thread, or never in this run (small batches are parsed in-process).
        if (self.executor is not None and len(first) >= PARALLEL_PARSE_MIN
                and threading.active_count() == 1):
            self._pool_live = True
            if role == "inbox":
                import mailtriage.ingest.parse  # noqa: F401  (before the pool forks)
                from mailtriage.services.worker import warm_up

                # The pool's first task: the worker loads the classifier while this process
                # parses the first chunks (``submit_parse``).
                self._in_flight = [self.executor.submit(warm_up, self.config.classify)]
        pending = (first, self.submit_parse(first, role))
        if role == "inbox" and not self._pool_live:
            self._start_classifier_load()
        error: MailboxError | None = None
        with closing(prefetch(it)) as rest:
            try:
                for batch in rest:
                    if not batch:
                        continue
                    ahead = (batch, self.submit_parse(batch, role))
                    yield pending[0], pending[1]()
                    pending = ahead
            except MailboxError as exc:
                error = exc
        yield pending[0], pending[1]()
        if error is not None:
            raise error

    # -- one mailbox ----------------------------------------------------------------------------

    def run_mailbox(self, cfg: MailboxConfig, folder: str | None = None, *,
                    role: str = "inbox") -> MailboxReport:
        """Drain one folder; ``role`` ``sent`` reads a sent folder (staff responses)."""
        folder = folder or cfg.folder
        report = MailboxReport(cfg.name, folder)
        try:
            with open_source(cfg, folder=folder) as source:
                self._drain(cfg, source, report, role)
        except (MailboxError, StoreError) as exc:
            # Batches committed before the failure stay stored and marked; the rest is
            # fetched again by the next run.
            report.error = str(exc)
            log.error("mailbox %s/%s: %s", cfg.name, folder, exc)
        return report

    def _load_cursor(self, cfg: MailboxConfig, folder: str, uidvalidity: int,
                     report: MailboxReport) -> SourceCursor | None:
        with self.db.session() as s:
            row = _cursor_row(s, cfg.name, folder)
            if row is None:
                return None
            if row.uidvalidity != uidvalidity:
                report.uidvalidity_changed = True
                log.warning("mailbox %s/%s: UIDVALIDITY changed from %s to %s; full rescan",
                            cfg.name, folder, row.uidvalidity, uidvalidity)
                return None
            self._marked[(cfg.name, folder)] = row.marked_uid
            return SourceCursor(uidvalidity=row.uidvalidity, last_uid=row.last_uid)

    def _remark(self, cfg: MailboxConfig, source: MailSource, cursor: SourceCursor) -> None:
        """Mark mail that a crashed run stored but did not get to flag or move."""
        marked = self._marked.get((cfg.name, source.folder), cursor.last_uid)
        if cfg.processed_action == "none" or self.dry_run or marked >= cursor.last_uid:
            return
        from mailtriage.store.models import Message

        with self.db.session() as s:
            stored = s.scalars(select(Message.uid).where(
                Message.mailbox == cfg.name, Message.folder == source.folder,
                Message.uidvalidity == cursor.uidvalidity)).all()
        uids = sorted((u for u in stored if u.isdigit() and marked < int(u) <= cursor.last_uid),
                      key=int)
        if uids:
            log.info("mailbox %s/%s: marking %d mail stored by an interrupted run",
                     cfg.name, source.folder, len(uids))
            try:
                source.mark_processed(uids)
            except MailboxError as exc:
                log.warning("mailbox %s: marking processed failed: %s", cfg.name, exc)
                return
        self._set_marked(cfg, source.folder, cursor.last_uid)

    def _set_marked(self, cfg: MailboxConfig, folder: str, uid: int) -> None:
        with self.db.session() as s:
            row = _cursor_row(s, cfg.name, folder)
            if row is not None and uid > row.marked_uid:
                row.marked_uid = min(uid, row.last_uid)

    def _save_cursor(self, s: Session, cfg: MailboxConfig, folder: str, uidvalidity: int,
                     last_uid: int, changed: bool) -> None:
        row = _cursor_row(s, cfg.name, folder)
        if row is None:
            s.add(Cursor(mailbox=cfg.name, folder=folder, uidvalidity=uidvalidity,
                         last_uid=last_uid))
            return
        if row.uidvalidity != uidvalidity:
            row.uidvalidity_changes += 1 if changed else 0
            row.uidvalidity = uidvalidity
            row.last_uid = last_uid
            row.marked_uid = 0
        else:
            row.last_uid = max(row.last_uid, last_uid)

    def _drain(self, cfg: MailboxConfig, source: MailSource, report: MailboxReport,
               role: str) -> None:
        uidvalidity = source.uidvalidity()
        cursor = self._load_cursor(cfg, source.folder, uidvalidity, report)
        if cursor is not None:
            self._remark(cfg, source, cursor)

        def seen(keys: Sequence[str]) -> set[str]:
            from mailtriage.services.intake import known_keys

            # Read-only: it runs on the fetching thread, beside a batch being stored.
            with self.db.session(read_only=True) as s:
                return known_keys(s, cfg.name, source.folder, keys)

        queued = self._intake.replies.queued if self._intake is not None else 0
        for batch, prepared in self._parsed(source.batches(cursor, seen), role):
            report.fetched += len(batch)
            decisions = self.classify(prepared) if role == "inbox" else {}
            outcomes = self._store(cfg, source.folder, uidvalidity, prepared, decisions,
                                   report.uidvalidity_changed, role)
            for o in outcomes:
                report.outcomes[o.kind] = report.outcomes.get(o.kind, 0) + 1
            if self.progress:
                self.progress(f"{cfg.name}/{source.folder}", len(batch))
            if self.heartbeat:
                self.heartbeat()
            if not self.dry_run:
                done = [o.uid for o in outcomes]
                if cfg.processed_action == "move":
                    # Only the headers of oversize mail were kept: it stays in the folder so
                    # ``quarantine replay`` can fetch it whole once the limit is raised.
                    partial = {p.raw.uid for p in prepared if p.raw.oversize}
                    done = [uid for uid in done if uid not in partial]
                try:
                    source.mark_processed(done)
                except MailboxError as exc:
                    # Stored already: the next run marks it (the cursor's marked UID lags).
                    log.warning("mailbox %s: marking processed failed: %s", cfg.name, exc)
                else:
                    uids = [int(p.raw.uid) for p in prepared if p.raw.uid.isdigit()]
                    if uidvalidity and uids and cfg.processed_action != "none":
                        self._set_marked(cfg, source.folder, max(uids))
            self._last_outcomes.extend(outcomes)
            if self.intake.replies.queued > queued:
                self._deliver_between_batches()  # never in a dry run
            queued = self.intake.replies.queued

    def _store(self, cfg: MailboxConfig, folder: str, uidvalidity: int,
               prepared: Sequence[Prepared], decisions: dict[int, Decision],
               changed: bool, role: str) -> list[Outcome]:
        from mailtriage.services.intake import store_batch

        intake = self.intake
        session = self.db.sessions()
        try:
            outcomes = store_batch(session, intake, prepared, decisions, role=role)
            if uidvalidity:
                uids = [int(p.raw.uid) for p in prepared if p.raw.uid.isdigit()]
                if uids:
                    self._save_cursor(session, cfg, folder, uidvalidity, max(uids), changed)
            if self.dry_run:
                session.rollback()
            else:
                session.commit()
            return outcomes
        except SQLAlchemyError as exc:
            session.rollback()
            raise StoreError(f"The batch could not be stored (nothing of it was kept): "
                             f"{_one_line(exc)}") from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def _record_early_responses(self) -> None:
        from mailtriage.services.early_responses import record_early_responses

        with self.db.session() as s:
            for number in record_early_responses(s, self.now()):
                log.info("ticket #%d: a staff mail stored earlier is its response", number)

    # -- the whole run ------------------------------------------------------------------------

    def run(self) -> RunReport:
        report = RunReport(dry_run=self.dry_run)
        self._last_outcomes = []
        if not self.dry_run:
            self._settle_interrupted()
        for cfg in self.config.mailboxes:
            report.mailboxes.append(self.run_mailbox(cfg))
            if cfg.sent_folder:
                report.mailboxes.append(self.run_mailbox(cfg, cfg.sent_folder, role="sent"))
        report.details = self._last_outcomes
        report.problems = self.problems
        if not self.dry_run:
            try:
                # Before the alerts: a staff answer that came in before the customer's mail
                # stops that ticket's response clock.
                self._record_early_responses()
            except MailtriageError as exc:
                log.error("early staff responses: %s", exc)
                self.problems.append(f"early staff responses: {exc}")
            try:
                # Without an alert address nothing is due, and the alert templates (jinja2)
                # stay unloaded: ``report.alerts`` is then None.
                if self.config.notify.staff_alert_address:
                    from mailtriage.services.alerts import queue_alerts

                    report.alerts = queue_alerts(self.config, self.db, self.now(),
                                                 calc=self.intake.commitments)
            except MailtriageError as exc:
                log.error("staff alerts: %s", exc)
                self.problems.append(f"staff alerts: {exc}")
            with self.db.session(read_only=True) as s:
                from mailtriage.store.models import OutboxItem

                pending = s.scalar(select(OutboxItem.id).where(
                    OutboxItem.status == "pending").limit(1))
            if pending is not None:
                self._add_delivery(self._deliver(self._open_transport()))
            report.delivery = self._delivery
        return report

    def _settle_interrupted(self) -> None:
        """Before this run sends anything: rows an earlier run left ``claimed`` go back to
        pending, rows it left ``sending`` become uncertain (and are reported)."""
        interrupted = delivery.mark_interrupted(self.db)
        if interrupted:
            self.problems.append(
                f"{interrupted} outgoing mail(s) were interrupted while being sent by an "
                "earlier run; marked uncertain and not resent (requeue them if they did "
                "not arrive)")

    def _open_transport(self) -> Transport:
        if self._transport is None:
            from mailtriage.notify.transport import open_transport

            self._transport = open_transport(self.config.smtp)
        return self._transport

    def _add_delivery(self, done: delivery.DeliveryReport) -> None:
        self._delivery = self._delivery or delivery.DeliveryReport()
        self._delivery.add(done)

    def _deliver_between_batches(self) -> None:
        """Send what is due now that a batch with replies is committed. A pass that cannot
        send everything (a broken setup, a server that asks to come back later) ends this for
        the run: the run's last pass tries again, once, as it always does."""
        if not self._send_between_batches:
            return
        done = self._deliver(self._open_transport())
        self._add_delivery(done)
        if done.setup_error or done.retry_later:
            self._send_between_batches = False

    def _deliver(self, transport: Transport) -> delivery.DeliveryReport:
        """Deliver everything due, in passes of ``DELIVERY_PASS`` rows; a pass that claims
        fewer rows, or stops on a broken setup, is the last."""
        total = delivery.DeliveryReport()
        try:
            while True:
                done = delivery.deliver_due(self.db, transport, self.now,
                                            max_attempts=self.config.smtp.max_attempts,
                                            limit=DELIVERY_PASS)
                total.add(done)
                claimed = done.sent + done.retry_later + done.failed + done.uncertain
                if done.setup_error or claimed < DELIVERY_PASS:
                    return total
        finally:
            # An SMTP session serves this batch's replies, not the wait for the next batch.
            transport.close()


def _cursor_row(s: Session, mailbox: str, folder: str) -> Cursor | None:
    """The folder's cursor: its UIDVALIDITY, the last UID fetched and the last one marked."""
    return s.scalar(select(Cursor).where(Cursor.mailbox == mailbox, Cursor.folder == folder))


def mark_on_next_run(db: Database, mailbox: str, folder: str, uidvalidity: int,
                     uid: str) -> None:
    """Have the next run mark the stored mail ``uid`` on the server (after marking it failed
    outside a run): the folder's marked-up-to UID goes below it, and a run marks the stored
    mail above that as it marks mail an interrupted run stored (``Pipeline._remark``)."""
    if not uid.isdigit():
        return
    with db.session() as s:
        row = _cursor_row(s, mailbox, folder)
        if row is not None and row.uidvalidity == uidvalidity and row.marked_uid >= int(uid):
            row.marked_uid = int(uid) - 1


def _one_line(exc: SQLAlchemyError) -> str:
    """The driver's own message of a database error, without SQLAlchemy's SQL dump."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return f"{type(orig or exc).__name__}: {text.splitlines()[0] if text else ''}"


def _portable(raw: RawMail) -> RawMail:
    """``raw`` with an INTERNALDATE that pickles: imapclient's own fixed-offset zone does not,
    which would break the process pool; the same offset as a plain ``timezone`` does."""
    when = raw.internaldate
    if when is None or when.tzinfo is None or type(when.tzinfo) is timezone:
        return raw
    offset = when.utcoffset()
    if offset is None:
        return raw
    return replace(raw, internaldate=when.replace(tzinfo=timezone(offset)))


def _workers(executor: Executor) -> int:
    return max(1, int(getattr(executor, "_max_workers", 1) or 1))


CHUNK_MAILS = 50
CHUNK_BYTES = 1 << 20


def _chunks(batch: Sequence[RawMail], workers: int) -> list[list[RawMail]]:
    """``batch`` in order, cut into chunks of at most ``CHUNK_MAILS`` mails (fewer when the
    batch is small, so every worker gets some) and about ``CHUNK_BYTES``.

    A worker classifies each chunk's candidates in one call, and scikit-learn costs about as
    much per call as per ten mails: 16 mails a chunk spent 2.5 ms a mail on classifying, 50
    spend 2.05 (the 200 of a whole batch, 1.9); more chunks only help a pool of several
    workers share out a batch. The byte limit stays at 1 MB: with 4 MB the worker's peak grew
    with the mailbox (190 MB at 30,000 bench mails against 180 MB with 1 MB)."""
    limit = max(1, min(CHUNK_MAILS, len(batch) // (4 * workers)))
    chunks: list[list[RawMail]] = []
    current: list[RawMail] = []
    size = 0
    for raw in batch:
        if current and (len(current) >= limit or size + len(raw.data) > CHUNK_BYTES):
            chunks.append(current)
            current, size = [], 0
        current.append(raw)
        size += len(raw.data)
    if current:
        chunks.append(current)
    return chunks


@contextmanager
def run_guard(config: Config, db: Database, now: datetime
              ) -> Iterator[Callable[[datetime], None]]:
    """The host lock, a current schema and the database lease around one run; yields the
    function that renews the lease (called after every batch, so a long run keeps it)."""
    with RunLock(config.run.lock_file):
        ensure_schema(db)
        holder = lease.holder_id()
        try:
            lease.acquire(db, LEASE_NAME, holder, now, LEASE_TTL)
        except LockHeldError:
            if not _take_over_dead_lease(db, holder, now):
                raise
        try:
            yield lambda at: lease.renew(db, LEASE_NAME, holder, at, LEASE_TTL)
        finally:
            lease.release(db, LEASE_NAME, holder)


def _take_over_dead_lease(db: Database, holder: str, now: datetime) -> bool:
    """Take the lease of a run on this host whose process is gone (it crashed).

    Called while holding the host lock, so no other run of this host is alive; the holder's
    process id is checked as well. A lease of another host is left to expire.
    """
    host = holder.rsplit(":", 1)[0]
    with db.session() as s:
        row = s.get(RunLease, LEASE_NAME)
        if row is None:
            return False
        other_host, _, pid = row.holder.rpartition(":")
        if other_host != host or not pid.isdigit() or _process_alive(int(pid)):
            return False
        log.warning("taking over the lease of run %s on this host, which is gone", row.holder)
        result = s.execute(update(RunLease).where(
            RunLease.name == LEASE_NAME, RunLease.holder == row.holder)
            .values(holder=holder, expires_at=now + LEASE_TTL))
        return bool(cast("CursorResult[Any]", result).rowcount)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_once(config: Config, *, dry_run: bool = False, now: Callable[[], datetime] | None = None,
             executor: Executor | None = None, progress: ProgressFn | None = None) -> RunReport:
    """``mailtriage run``: one locked cycle over every mailbox."""
    clock = now or (lambda: datetime.now(UTC))
    db = Database(config.database.url)
    try:
        with run_guard(config, db, clock()) as renew:
            return Pipeline(config, db, now=clock, dry_run=dry_run, executor=executor,
                            progress=progress, heartbeat=lambda: renew(clock())).run()
    except SQLAlchemyError as exc:  # the lease and other direct engine use
        raise StoreError(f"Database error: {_one_line(exc)}") from exc
    finally:
        db.dispose()


__all__ = ["MailboxReport", "MailtriageError", "Pipeline", "RunReport", "mark_on_next_run",
           "run_once"]
