"""Stores one batch of fetched mail: dedup, quarantine, origin, threading, tickets and replies.

Everything a batch decides is written in one transaction. The batch is first stored at once:
what it needs to know (stored hashes, our own Message-IDs, reply counts, the change backlog) is
asked up front in a few IN queries, new tickets link their rows by object rather than by id, and
one flush writes each table in one statement. If anything in that attempt fails, it is rolled
back and the batch is stored again mail by mail, each inside its own savepoint, so one bad
message never takes the others down. The mailbox is touched (flag or move) only after the
transaction commits; a crash before the commit means a harmless re-fetch that the
``(mailbox, sha256)`` key turns into a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mailtriage.classify.decision import ClassifyInput, Decision
from mailtriage.config import Config
from mailtriage.errors import MailtriageError, UnparseableMail
from mailtriage.ingest.message import OriginVerdict, ParsedMail, RawMail
from mailtriage.ingest.origin import decide_origin
from mailtriage.ingest.threading import ThreadLookup, decide_thread, subject_ticket_number
from mailtriage.services.clocks import refresh_deadlines
from mailtriage.services.commitments import CommitmentCalculator
from mailtriage.services.replies import ReplyComposer
from mailtriage.statuses import DONE_STATUSES, HELD_STATUSES
from mailtriage.store.files import FileStore
from mailtriage.store.models import (
    Attachment,
    AwaitedReference,
    Classification,
    Message,
    OutboxItem,
    Participant,
    QuarantineEntry,
    Ticket,
    TicketEvent,
    ticket_ref,
)

FIRST_TICKET_NUMBER = 1001
MAX_AWAITED_REFS = 20
"""At most this many Message-IDs a staff mail that refers to no ticket waits for."""

log = logging.getLogger("mailtriage.intake")


@dataclass(frozen=True)
class Prepared:
    """A fetched mail after the CPU-bound work: parsed, or the reason it cannot be; and its
    classification when a worker process already made it."""

    raw: RawMail
    parsed: ParsedMail | None
    failure: str | None = None
    failure_detail: str = ""
    digest: str = ""
    """``raw.sha256``, when already computed (by the worker that parsed it)."""
    decision: Decision | None = None

    @property
    def sha256(self) -> str:
        return self.digest or self.raw.sha256


def prepare(raw: RawMail, now: datetime) -> Prepared:
    """Parse one raw mail; never raises (pure CPU work, safe to run in a worker process)."""
    from mailtriage.ingest.parse import parse_mail

    digest = raw.sha256
    if raw.oversize:
        return Prepared(raw, None, "oversize",
                        f"message of {raw.size} bytes is over the configured limit; only its "
                        "headers were fetched", digest)
    try:
        return Prepared(raw, parse_mail(raw, now=now), digest=digest)
    except UnparseableMail as exc:
        return Prepared(raw, None, exc.reason, str(exc), digest)
    except Exception as exc:  # the parser must never take the run down
        return Prepared(raw, None, "parser-error", f"{exc.__class__.__name__}: {exc}", digest)


def classification_inputs(items: Sequence[Prepared]) -> list[tuple[int, ClassifyInput]]:
    """The mails of a batch that may open a ticket (parsed, not a delivery report) and are
    not classified yet, by position, as the classifier reads them."""
    return [(i, ClassifyInput(subject=p.parsed.subject, body=p.parsed.new_text or p.parsed.text,
                              language=p.parsed.language))
            for i, p in enumerate(items)
            if p.parsed is not None and p.parsed.report is None and p.decision is None]


@dataclass(frozen=True)
class Outcome:
    """What became of one message."""

    uid: str
    kind: str  # ticket | followup | attached | ignored | quarantined | duplicate
    reason: str = ""
    ticket_number: int | None = None
    reply: str = ""


@dataclass
class IntakeContext:
    """What the intake needs, built once per run."""

    config: Config
    files: FileStore
    commitments: CommitmentCalculator
    replies: ReplyComposer
    now: Callable[[], datetime]
    store_files: bool = True
    own_addresses: frozenset[str] = field(default_factory=frozenset)

    def is_staff(self, address: str) -> bool:
        """A configured staff address, or an address in a configured staff domain."""
        address = address.lower()
        domain = address.rsplit("@", 1)[-1]
        for entry in self.config.lifecycle.staff_addresses:
            if address == entry or ("@" not in entry and (
                    domain == entry or domain.endswith("." + entry))):
                return True
        return False


@dataclass
class BatchMemo:
    """What one ``store_batch`` call learnt from the database in a few IN queries up front,
    kept current as the batch stores its mail (the same answers as a query per message).

    Content hashes stored or in open quarantine, and which of the batch's Message-IDs are
    outbox rows of ours (rows queued during the batch are unsent, so no incoming mail of the
    batch can carry their random IDs). For threading: the tickets that the Message-IDs the
    batch refers to and the ticket numbers its subjects name belong to, with their
    participants, plus what the batch itself adds (``threads_known``). After a savepoint
    rollback all of that except the hashes is forgotten and asked of the database again.
    """

    stored: set[tuple[str, str]] = field(default_factory=set)
    quarantined: set[tuple[str, str]] = field(default_factory=set)
    asked_own: set[str] = field(default_factory=set)
    own_ids: set[str] = field(default_factory=set)
    next_number: int | None = None
    participants: dict[Ticket, set[str]] = field(default_factory=dict)
    """Every participant of these tickets (the ones this batch opened or looked up; keyed by
    the object: a new ticket has no id before the flush)."""
    threads_known: bool = False
    outbox_tickets: dict[str, Ticket] = field(default_factory=dict)
    """Our outgoing Message-IDs the batch refers to, and their tickets."""
    message_tickets: dict[str, tuple[int, Ticket]] = field(default_factory=dict)
    """Message-IDs of stored mail the batch refers to (the customer's own, and staff
    responses), with the newest such message's order and its ticket."""
    numbers: dict[int, Ticket] = field(default_factory=dict)
    """Tickets by number: the ones the batch's subjects name, and the ones it opens."""
    added: int = 0

    def forget_uncommitted(self) -> None:
        self.next_number = None
        self.participants.clear()
        self.threads_known = False

    def message_added(self, message_id: str | None, ticket: Ticket) -> None:
        """A message of the batch that a later mail of the batch may refer to."""
        if message_id:
            self.added += 1
            self.message_tickets[message_id] = (1 << 62) + self.added, ticket


_MEMO = "mailtriage.intake.batch"
_V = TypeVar("_V")
_IN_CHUNK = 500


def _memo(session: Session) -> BatchMemo | None:
    memo = session.info.get(_MEMO)
    return memo if isinstance(memo, BatchMemo) else None


def _chunks(values: Sequence[_V]) -> Iterable[list[_V]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield list(values[start:start + _IN_CHUNK])


def load_memo(session: Session, items: Sequence[Prepared]) -> BatchMemo:
    """Ask the database about every mail of the batch at once (see ``BatchMemo``)."""
    memo = BatchMemo()
    mailboxes = sorted({p.raw.mailbox for p in items})
    hashes = sorted({p.sha256 for p in items})
    for chunk in _chunks(hashes):
        memo.stored.update((m, s) for m, s in session.execute(
            select(Message.mailbox, Message.sha256).where(
                Message.mailbox.in_(mailboxes), Message.sha256.in_(chunk))).all())
        memo.quarantined.update((m, s) for m, s in session.execute(
            select(QuarantineEntry.mailbox, QuarantineEntry.sha256).where(
                QuarantineEntry.mailbox.in_(mailboxes), QuarantineEntry.sha256.in_(chunk),
                QuarantineEntry.status == "open")).all())
    ids = sorted({p.parsed.message_id for p in items if p.parsed and p.parsed.message_id})
    for chunk in _chunks(ids):
        memo.own_ids.update(session.scalars(select(OutboxItem.message_id).where(
            OutboxItem.message_id.in_(chunk))))
    memo.asked_own.update(ids)
    _load_threads(session, memo, items)
    return memo


def _load_threads(session: Session, memo: BatchMemo, items: Sequence[Prepared]) -> None:
    """What threading the batch's mail needs, in a few IN queries (see ``BatchMemo``)."""
    refs: set[str] = set()
    numbers: set[int] = set()
    for p in items:
        if p.parsed is None:
            continue
        refs.update(_referenced_ids(p.parsed))
        if p.parsed.report is not None:
            refs.update(r[:998] for r in p.parsed.report.original_message_ids if r)
        number = subject_ticket_number(p.parsed.subject)
        if number is not None:
            numbers.add(number)
    outbox: dict[str, int] = {}
    messages: dict[str, tuple[int, int]] = {}
    wanted = sorted(refs)
    for chunk in _chunks(wanted):
        for sent_id, sent_ticket in session.execute(
                select(OutboxItem.message_id, OutboxItem.ticket_id).where(
                    OutboxItem.message_id.in_(chunk), OutboxItem.ticket_id.is_not(None))):
            if sent_ticket is not None:
                outbox.setdefault(sent_id, sent_ticket)
        for order, stored_id, stored_ticket in session.execute(
                select(Message.id, Message.message_id, Message.ticket_id).where(
                    Message.message_id.in_(chunk), Message.ticket_id.is_not(None),
                    or_(Message.direction == "in", Message.outcome == "response"))):
            if stored_id is not None and stored_ticket is not None and (
                    stored_id not in messages or order > messages[stored_id][0]):
                messages[stored_id] = (order, stored_ticket)
    by_number = sorted(numbers)
    by_id = sorted({*outbox.values(), *(t for _, t in messages.values())})
    tickets: dict[int, Ticket] = {}
    for start in range(0, max(len(by_id), len(by_number)), _IN_CHUNK):
        for t in session.scalars(select(Ticket).where(or_(
                Ticket.id.in_(by_id[start:start + _IN_CHUNK]),
                Ticket.number.in_(by_number[start:start + _IN_CHUNK])))):
            tickets[t.id] = t
            memo.participants[t] = set()
    for chunk_ids in _chunks(sorted(tickets)):
        for ticket_id, address in session.execute(
                select(Participant.ticket_id, Participant.address).where(
                    Participant.ticket_id.in_(chunk_ids))):
            memo.participants[tickets[ticket_id]].add(address)
    memo.outbox_tickets = {m: tickets[t] for m, t in outbox.items() if t in tickets}
    memo.message_tickets = {m: (order, tickets[t]) for m, (order, t) in messages.items()
                            if t in tickets}
    memo.numbers = {t.number: t for t in tickets.values() if t.number in numbers}
    memo.threads_known = True


def origin_of(session: Session, ctx: IntakeContext, mail: ParsedMail) -> OriginVerdict:
    """The mail's origin, asking the database which Message-IDs are our own."""
    memo = _memo(session)

    def is_own(message_id: str) -> bool:
        if memo is not None and message_id in memo.asked_own:
            return message_id in memo.own_ids
        return session.scalar(
            select(OutboxItem.id).where(OutboxItem.message_id == message_id).limit(1)
        ) is not None

    return decide_origin(mail, own_addresses=ctx.own_addresses, is_own_message_id=is_own)


def store_batch(session: Session, ctx: IntakeContext, items: Sequence[Prepared],
                decisions: dict[int, Decision], *, replay: bool = False,
                role: str = "inbox") -> list[Outcome]:
    """Store every prepared mail of a batch in the caller's transaction.

    ``role`` is ``inbox`` for mail to the helpdesk, ``sent`` for a sent folder, where every
    mail is a reply by staff. The whole batch is tried at once first (see the module's
    docstring); a failure there costs time, never a mail.
    """
    if len(items) > 1:
        savepoint = session.begin_nested()
        try:
            senders = [p.parsed.sender.addr for p in items if p.parsed and p.parsed.sender]
            with ctx.replies.batch(session, senders):
                outcomes = _store_items(session, ctx, items, decisions, replay=replay,
                                        role=role, isolated=False)
                session.flush()
        except Exception as exc:
            savepoint.rollback()
            log.info("storing %d mails at once failed (%s: %s); storing them one by one",
                     len(items), exc.__class__.__name__, str(exc).splitlines()[0:1])
        else:
            savepoint.commit()
            return outcomes
    return _store_items(session, ctx, items, decisions, replay=replay, role=role,
                        isolated=True)


def _store_items(session: Session, ctx: IntakeContext, items: Sequence[Prepared],
                 decisions: dict[int, Decision], *, replay: bool, role: str,
                 isolated: bool) -> list[Outcome]:
    """Store the batch's mail in order; ``isolated`` puts each in its own savepoint and turns
    a failure into a quarantine entry, else the first failure propagates."""
    outcomes = []
    memo = load_memo(session, items)
    session.info[_MEMO] = memo
    try:
        for index, prep in enumerate(items):
            if not isolated:
                outcome = _store_one(session, ctx, prep, decisions.get(index), replay=replay,
                                     role=role)
                _remember(memo, prep, outcome)
                outcomes.append(outcome)
                continue
            savepoint = session.begin_nested()
            try:
                outcome = _store_one(session, ctx, prep, decisions.get(index), replay=replay,
                                     role=role)
                savepoint.commit()
            except MailtriageError as exc:
                savepoint.rollback()
                memo.forget_uncommitted()
                outcome = _quarantine(session, ctx, prep, "store-error", str(exc))
            except Exception as exc:  # a fault of ours must cost one mail, never the batch
                savepoint.rollback()
                memo.forget_uncommitted()
                log.exception("storing %s/%s failed", prep.raw.mailbox, prep.raw.uid)
                outcome = _quarantine(session, ctx, prep, "internal-error",
                                      f"{exc.__class__.__name__}: {exc}")
            _remember(memo, prep, outcome)
            outcomes.append(outcome)
    finally:
        session.info.pop(_MEMO, None)
    return outcomes


def _remember(memo: BatchMemo, prep: Prepared, outcome: Outcome) -> None:
    key = (prep.raw.mailbox, prep.sha256)
    if outcome.kind == "quarantined":
        memo.quarantined.add(key)
    elif outcome.kind != "duplicate":
        memo.stored.add(key)


def _raw_fields(ctx: IntakeContext, raw: RawMail) -> dict[str, Any]:
    if len(raw.data) <= ctx.config.storage.inline_limit or not ctx.store_files:
        return {"raw": raw.data, "raw_key": None}
    return {"raw": None, "raw_key": ctx.files.put(raw.data)}


def _quarantine(session: Session, ctx: IntakeContext, prep: Prepared, reason: str,
                detail: str) -> Outcome:
    raw = prep.raw
    existing = session.scalar(select(QuarantineEntry).where(
        QuarantineEntry.mailbox == raw.mailbox, QuarantineEntry.folder == raw.folder,
        QuarantineEntry.uidvalidity == raw.uidvalidity, QuarantineEntry.uid == raw.uid,
        QuarantineEntry.sha256 == prep.sha256))
    if existing is not None:
        existing.attempts += 1
        existing.status = "open"
        existing.reason, existing.detail = reason, detail[:4000]
    else:
        session.add(QuarantineEntry(
            mailbox=raw.mailbox, folder=raw.folder, uidvalidity=raw.uidvalidity, uid=raw.uid,
            sha256=prep.sha256, size=raw.size, reason=reason, detail=detail[:4000],
            headers_only=raw.oversize, **_raw_fields(ctx, raw)))
    session.flush()
    return Outcome(raw.uid, "quarantined", f"{reason}: {detail}")


def _clean(text: str) -> str:
    return text.replace("\x00", "")


def _new_message(ctx: IntakeContext, prep: Prepared, mail: ParsedMail, origin: OriginVerdict,
                 outcome: str, reason: str) -> Message:
    raw = prep.raw
    msg = Message(
        direction="in", mailbox=raw.mailbox, folder=raw.folder, uidvalidity=raw.uidvalidity,
        uid=raw.uid, sha256=prep.sha256, size=raw.size,
        message_id=_clean(mail.message_id)[:998] if mail.message_id else None,
        sender=mail.sender.addr if mail.sender else None,
        sender_name=_clean(mail.sender.name) if mail.sender else "",
        subject=_clean(mail.subject), received_at=mail.received_at, origin=origin.origin,
        origin_rules=list(origin.rules) + list(origin.reasons), outcome=outcome,
        outcome_reason=reason, language=mail.language, text=_clean(mail.text),
        new_text=_clean(mail.new_text), html=_clean(mail.html) if mail.html else None,
        notes=list(mail.notes), **_raw_fields(ctx, raw),
    )
    for att in mail.attachments:
        key = ctx.files.put(att.payload) if ctx.store_files else att.sha256
        msg.attachments.append(Attachment(
            filename=_clean(att.filename)[:500], content_type=att.content_type[:255],
            size=att.size, sha256=att.sha256, storage_key=key,
            content_id=att.content_id, inline=att.inline))
    return msg


def _ticket_lookup(session: Session, ticket: int | Ticket | None
                   ) -> tuple[ThreadLookup, Ticket] | None:
    """The candidate ``ticket`` as ``decide_thread`` sees it, and the ticket itself (one this
    batch opened has no id yet: it is not flushed for this)."""
    if ticket is None:
        return None
    t = session.get(Ticket, ticket) if isinstance(ticket, int) else ticket
    if t is None:
        return None
    memo = _memo(session)
    known = memo.participants.get(t) if memo is not None else None
    if known is None and t.id is None:
        session.flush()  # not opened through the batch memo: ask the database
    participants = frozenset(known) if known is not None else frozenset(session.scalars(
        select(Participant.address).where(Participant.ticket_id == t.id)).all())
    return ThreadLookup(ticket_id=t.id, number=t.number, participants=participants), t


def _threads(session: Session) -> BatchMemo | None:
    memo = _memo(session)
    return memo if memo is not None and memo.threads_known else None


def _our_ticket(session: Session, refs: Sequence[str]) -> int | Ticket | None:
    """The ticket of an outgoing mail of ours among ``refs``."""
    memo = _threads(session)
    if memo is not None:
        return next((memo.outbox_tickets[r] for r in refs if r in memo.outbox_tickets), None)
    return session.scalar(select(OutboxItem.ticket_id).where(
        OutboxItem.message_id.in_(refs), OutboxItem.ticket_id.is_not(None)).limit(1))


def _their_ticket(session: Session, refs: Sequence[str]) -> int | Ticket | None:
    """The ticket of the newest stored customer mail or staff response among ``refs``."""
    memo = _threads(session)
    if memo is not None:
        hits = [memo.message_tickets[r] for r in refs if r in memo.message_tickets]
        return max(hits, key=lambda hit: hit[0])[1] if hits else None
    return session.scalar(select(Message.ticket_id).where(
        Message.message_id.in_(refs), Message.ticket_id.is_not(None),
        or_(Message.direction == "in", Message.outcome == "response"))
        .order_by(Message.id.desc()).limit(1))


def _numbered_ticket(session: Session, number: int) -> int | Ticket | None:
    memo = _threads(session)
    if memo is not None:
        return memo.numbers.get(number)
    return session.scalar(select(Ticket.id).where(Ticket.number == number))


def _referenced_ids(mail: ParsedMail) -> list[str]:
    ids = list(mail.in_reply_to) + list(mail.references)
    return [i[:998] for i in dict.fromkeys(ids) if i]


def _thread(session: Session, mail: ParsedMail) -> tuple[Ticket | None, str]:
    """The ticket ``mail`` continues (None: a new one) and why."""
    refs = _referenced_ids(mail)
    ours = theirs = None
    if refs:
        ours = _ticket_lookup(session, _our_ticket(session, refs))
        # The customer's own messages, and staff replies sent from a mail client (recorded
        # from a sent folder or a staff address), which a customer's answer may name alone.
        theirs = _ticket_lookup(session, _their_ticket(session, refs))
    by_subject = None
    number = subject_ticket_number(mail.subject)
    if number is not None:
        by_subject = _ticket_lookup(session, _numbered_ticket(session, number))
    decision = decide_thread(mail, ours=ours[0] if ours else None,
                             theirs=theirs[0] if theirs else None,
                             by_subject=by_subject[0] if by_subject else None,
                             subject_number=number)
    chosen = next((t for lookup, t in filter(None, (ours, theirs, by_subject))
                   if lookup is decision.ticket), None)
    return chosen, decision.reason


def _add_participant(session: Session, ticket: Ticket, address: str | None,
                     role: str = "customer") -> None:
    if not address:
        return
    address = address.lower()
    memo = _memo(session)
    known = memo.participants.get(ticket) if memo is not None else None
    if known is not None:  # every participant of this ticket is in ``known``
        if address not in known:
            known.add(address)
            session.add(Participant(address=address, role=role, **ticket_ref(ticket)))
        return
    exists = session.scalar(select(Participant.id).where(Participant.ticket_id == ticket.id,
                                                         Participant.address == address))
    if exists is None:
        session.add(Participant(ticket_id=ticket.id, address=address, role=role))


def _attach_automatic(session: Session, ctx: IntakeContext, prep: Prepared, mail: ParsedMail,
                      origin: OriginVerdict) -> Outcome:
    """Bounces and auto-replies: attach to the ticket they refer to, else ignore; never a ticket."""
    refs = list(mail.report.original_message_ids) if mail.report else []
    refs += _referenced_ids(mail)
    refs = [r[:998] for r in dict.fromkeys(refs) if r]
    found = _our_ticket(session, refs) if refs else None
    what = "bounce" if origin.origin == "bounce" else "automatic reply"
    why = "; ".join(origin.reasons) or ", ".join(origin.rules)
    if found is None:
        reason = f"{what} ({why}) that refers to none of our messages: ignored"
        session.add(_new_message(ctx, prep, mail, origin, "ignored", reason))
        return Outcome(prep.raw.uid, "ignored", reason)
    ticket = session.get(Ticket, found) if isinstance(found, int) else found
    assert ticket is not None
    reason = f"{what} ({why}) attached as a note; it changes nothing on the ticket"
    msg = _new_message(ctx, prep, mail, origin, "attached", reason)
    _link_message(session, msg, ticket)
    session.add(TicketEvent(kind=origin.origin, at=mail.received_at,
                            data={"reason": reason, "status": mail.report.status
                                  if mail.report else ""}, **ticket_ref(ticket)))
    return Outcome(prep.raw.uid, "attached", reason, ticket.number)


def _link_message(session: Session, msg: Message, ticket: Ticket) -> None:
    """Add ``msg`` to ``ticket``; later mail of the batch may refer to it."""
    for key, value in ticket_ref(ticket).items():
        setattr(msg, key, value)
    session.add(msg)
    memo = _memo(session)
    if memo is not None and msg.message_id and (msg.direction == "in"
                                                or msg.outcome == "response"):
        memo.message_added(msg.message_id, ticket)


def next_ticket_number(session: Session) -> int:
    current = session.scalar(select(func.max(Ticket.number)))
    return FIRST_TICKET_NUMBER if current is None else int(current) + 1


def _take_ticket_number(session: Session) -> int:
    """``next_ticket_number``, counted on in memory within a batch."""
    memo = _memo(session)
    if memo is None:
        return next_ticket_number(session)
    if memo.next_number is None:
        memo.next_number = next_ticket_number(session)
    number = memo.next_number
    memo.next_number += 1
    return number


def _store_one(session: Session, ctx: IntakeContext, prep: Prepared, decision: Decision | None,
               *, replay: bool, role: str) -> Outcome:
    raw = prep.raw
    memo = _memo(session)
    key = (raw.mailbox, prep.sha256)
    if (key in memo.stored) if memo is not None else session.scalar(
            select(Message.id).where(Message.mailbox == raw.mailbox,
                                     Message.sha256 == prep.sha256).limit(1)):
        return Outcome(raw.uid, "duplicate", "already stored")
    if not replay and ((key in memo.quarantined) if memo is not None else session.scalar(
            select(QuarantineEntry.id).where(
                QuarantineEntry.mailbox == raw.mailbox, QuarantineEntry.sha256 == prep.sha256,
                QuarantineEntry.status == "open").limit(1))):
        return Outcome(raw.uid, "duplicate", "already in quarantine")
    if prep.failure or prep.parsed is None:
        return _quarantine(session, ctx, prep, prep.failure or "parser-error",
                           prep.failure_detail)
    mail = prep.parsed
    origin = origin_of(session, ctx, mail)
    sender = mail.sender.addr.lower() if mail.sender else ""
    if role == "sent" or (sender and ctx.is_staff(sender)):
        return _staff_mail(session, ctx, prep, mail, origin, role)
    if origin.origin in ("bounce", "auto_reply"):
        return _attach_automatic(session, ctx, prep, mail, origin)
    if origin.origin in ("own", "list"):
        what = "our own mail (a loop)" if origin.origin == "own" else "mailing-list mail"
        reason = f"{what}: {'; '.join(origin.reasons) or ', '.join(origin.rules)}; ignored"
        session.add(_new_message(ctx, prep, mail, origin, "ignored", reason))
        return Outcome(raw.uid, "ignored", reason)

    ticket, thread_reason = _thread(session, mail)
    if ticket is not None:
        if ticket.status in DONE_STATUSES and not _within_reopen_window(
                ctx, ticket, mail.received_at):
            reason = (f"{thread_reason}, but #{ticket.number} was resolved more than "
                      f"{ctx.config.lifecycle.reopen_window_days} days earlier: a new ticket "
                      "linked to it")
            return _open_ticket(session, ctx, prep, mail, origin, decision, reason,
                                linked=ticket)
        return _follow_up(session, ctx, prep, mail, origin, ticket, thread_reason)
    return _open_ticket(session, ctx, prep, mail, origin, decision, thread_reason)


def _within_reopen_window(ctx: IntakeContext, ticket: Ticket, at: datetime) -> bool:
    done = ticket.resolved_at or ticket.closed_at
    if done is None:
        return True
    return at - done <= timedelta(days=ctx.config.lifecycle.reopen_window_days)


def _staff_mail(session: Session, ctx: IntakeContext, prep: Prepared, mail: ParsedMail,
                origin: OriginVerdict, role: str) -> Outcome:
    """A mail by staff (a sent folder, or a staff address in the inbox): a response."""
    uid = prep.raw.uid
    if mail.message_id and session.scalar(select(OutboxItem.id).where(
            OutboxItem.message_id == mail.message_id[:998]).limit(1)):
        reason = "a copy of mail mailtriage sent itself; not a response by a person"
        session.add(_new_message(ctx, prep, mail, origin, "ignored", reason))
        return Outcome(uid, "ignored", reason)
    if origin.origin in ("auto_reply", "bounce"):
        reason = f"automatic mail from a staff address ({', '.join(origin.rules)}); ignored"
        session.add(_new_message(ctx, prep, mail, origin, "ignored", reason))
        return Outcome(uid, "ignored", reason)
    refs = _referenced_ids(mail)
    ticket_id = None
    how = ""
    if refs:
        ticket_id = session.scalar(select(OutboxItem.ticket_id).where(
            OutboxItem.message_id.in_(refs), OutboxItem.ticket_id.is_not(None)).limit(1))
        if ticket_id is None:
            ticket_id = session.scalar(select(Message.ticket_id).where(
                Message.message_id.in_(refs), Message.ticket_id.is_not(None))
                .order_by(Message.id.desc()).limit(1))
        how = "it answers a message of the ticket"
    number = subject_ticket_number(mail.subject)
    if ticket_id is None and number is not None:
        ticket_id = session.scalar(select(Ticket.id).where(Ticket.number == number))
        how = f"its subject names #{number}"
    where = "the sent folder" if role == "sent" else "a staff address"
    if ticket_id is None:
        reason = f"mail from {where} that refers to no ticket; ignored"
        msg = _new_message(ctx, prep, mail, origin, "ignored", reason)
        session.add(msg)
        if refs:
            # It may answer a customer's mail that reaches us later (greylisting, a slow
            # relay): services.early_responses makes it that ticket's response then.
            msg.outcome_reason = reason = f"{reason} until the mail it answers arrives"
            if len(refs) > MAX_AWAITED_REFS:  # In-Reply-To (first) and the newest References
                refs = [refs[0], *refs[-(MAX_AWAITED_REFS - 1):]]
            session.add_all(AwaitedReference(message=msg, ref=ref, created_at=ctx.now())
                            for ref in refs)
        return Outcome(uid, "ignored", reason)
    ticket = session.get(Ticket, ticket_id)
    assert ticket is not None
    # Filed before the helpdesk copy of the customer's mail arrived (a reply from a staff
    # member's own mailbox, clocks apart): a response never lies before the ticket's receipt.
    at = max(mail.received_at, ticket.received_at)
    if mail.message_id and session.scalar(select(Message.id).where(
            Message.ticket_id == ticket.id, Message.outcome == "response",
            Message.message_id == _clean(mail.message_id)[:998]).limit(1)):
        # The same reply seen twice (filed in Sent and received by CC): one response, at the
        # earlier of the two instants.
        reason = f"another copy of a staff response already recorded on #{ticket.number}"
        session.add(_new_message(ctx, prep, mail, origin, "ignored", reason))
        for event in session.scalars(select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "response")):
            if event.data.get("message_id") == mail.message_id and at < event.at:
                event.at = at
        if ticket.first_response_at is None or at < ticket.first_response_at:
            ticket.first_response_at = at
        return Outcome(uid, "ignored", reason)
    reason = f"response by staff from {where}: {how}"
    msg = _new_message(ctx, prep, mail, origin, "response", reason)
    record_response(session, ticket, msg, at=at, via=role)
    return Outcome(uid, "response", reason, ticket.number)


def record_response(session: Session, ticket: Ticket, msg: Message, *, at: datetime,
                    via: str) -> None:
    """``msg``, a staff mail, is a response on ``ticket`` at ``at`` (stops the response clock
    if it is the first, opens a new ticket, names its sender a staff participant)."""
    msg.direction = "out"
    msg.outcome = "response"
    _link_message(session, msg, ticket)
    if ticket.first_response_at is None or at < ticket.first_response_at:
        ticket.first_response_at = at
    if ticket.status == "new":
        ticket.status = "open"
    session.add(TicketEvent(ticket_id=ticket.id, kind="response", at=at,
                            actor=msg.sender or "staff",
                            data={"via": via, "message_id": msg.message_id}))
    if msg.sender:
        _add_participant(session, ticket, msg.sender, role="staff")


def _follow_up(session: Session, ctx: IntakeContext, prep: Prepared, mail: ParsedMail,
               origin: OriginVerdict, ticket: Ticket, reason: str) -> Outcome:
    msg = _new_message(ctx, prep, mail, origin, "followup", reason)
    _link_message(session, msg, ticket)
    resumed = ticket.status in HELD_STATUSES  # its resolution clock was held
    if resumed:
        ctx.replies.status_changed()
    if ticket.status == "waiting":
        session.add(TicketEvent(kind="status_changed", at=mail.received_at, **ticket_ref(ticket),
                                data={"from": "waiting", "to": "open",
                                      "note": "the customer answered"}))
        ticket.status = "open"
    elif ticket.status in DONE_STATUSES:
        session.add(TicketEvent(kind="status_changed", at=mail.received_at, **ticket_ref(ticket),
                                data={"from": ticket.status, "to": "open",
                                      "note": "reopened: the customer wrote again"}))
        ticket.status = "open"
        ticket.resolved_at = ticket.closed_at = None
    if resumed:
        # The pause (or the resolution) ended: the stored due instants move with it.
        refresh_deadlines(session, ticket, ctx.commitments, ctx.now())
    for cc in mail.cc:
        if cc.addr.lower() not in ctx.own_addresses:
            _add_participant(session, ticket, cc.addr)
    reply = ctx.replies.maybe_followup_reply(session, ticket, msg, mail, origin)
    return Outcome(prep.raw.uid, "followup", reason, ticket.number, reply)


def _open_ticket(session: Session, ctx: IntakeContext, prep: Prepared, mail: ParsedMail,
                 origin: OriginVerdict, decision: Decision | None, thread_reason: str,
                 linked: Ticket | None = None) -> Outcome:
    requester = mail.sender.addr if mail.sender else None
    type_ = decision.type if decision else None
    priority = decision.priority if decision and decision.type == "incident" else None
    commitment = ctx.commitments.for_ticket(requester=requester, type_=type_, priority=priority,
                                            received_at=mail.received_at)
    ticket = Ticket(
        number=_take_ticket_number(session), subject=_clean(mail.subject)[:2000],
        requester=requester, requester_name=_clean(mail.sender.name) if mail.sender else "",
        sla_level=commitment.sla_level, language=mail.language, type=type_, priority=priority,
        confidence=decision.confidence if decision else None,
        needs_review=decision.needs_review if decision else True,
        decided_by=decision_source(decision), reasons=list(decision.reasons) if decision else
        ["no classification was possible"],
        status="new", received_at=mail.received_at, response_due=commitment.response_due,
        resolution_due=commitment.resolution_due,
        linked_ticket_id=linked.id if linked else None,
    )
    session.add(ticket)
    ctx.replies.new_ticket(ticket)
    memo = _memo(session)
    if memo is not None:
        memo.participants[ticket] = set()  # brand new: nobody takes part yet
        memo.numbers[ticket.number] = ticket
    else:
        session.flush()  # the ticket's id, for the participant query
    msg = _new_message(ctx, prep, mail, origin, "ticket", thread_reason)
    _link_message(session, msg, ticket)
    _add_participant(session, ticket, requester)
    for cc in mail.cc:
        if cc.addr.lower() not in ctx.own_addresses:
            _add_participant(session, ticket, cc.addr)
    if decision is not None:
        session.add(Classification(
            ticket=ticket, type=decision.type, priority=priority,
            confidence=decision.confidence, needs_review=decision.needs_review,
            rules=list(decision.rules), reasons=list(decision.reasons),
            model_version=decision.model_version, source="auto"))
    session.add(TicketEvent(ticket=ticket, kind="created", at=mail.received_at,
                            data={"reason": thread_reason}))
    reply = ctx.replies.acknowledge(session, ticket, msg, mail, origin)
    return Outcome(prep.raw.uid, "ticket", thread_reason, ticket.number, reply)


def decision_source(decision: Decision | None) -> str:
    """'rules: a, b; model: v3' — which rules and model version decided."""
    if decision is None:
        return "nothing (no classifier result)"
    parts = []
    if decision.rules:
        parts.append("rules: " + ", ".join(decision.rules))
    if decision.model_version:
        parts.append("model: " + decision.model_version)
    return "; ".join(parts) or "defaults"


def known_keys(session: Session, mailbox: str, folder: str, keys: Iterable[str]) -> set[str]:
    """Which local-source keys of this mailbox folder are already stored or quarantined."""
    wanted = list(keys)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        found.update(session.scalars(select(Message.uid).where(
            Message.mailbox == mailbox, Message.folder == folder, Message.uid.in_(chunk))))
        found.update(session.scalars(select(QuarantineEntry.uid).where(
            QuarantineEntry.mailbox == mailbox, QuarantineEntry.folder == folder,
            QuarantineEntry.uid.in_(chunk))))
    return found


