"""The IMAP adapter against a real Dovecot on loopback (tests/servers/dovecot.py)."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone

import pytest
from imapclient import IMAPClient

from mailtriage.config import MailboxConfig
from mailtriage.errors import (
    MailboxAuthError,
    MailboxConnectError,
    MailboxGoneError,
    MailboxTLSError,
)
from mailtriage.ingest.message import RawMail
from mailtriage.ingest.sources.base import Cursor, open_source
from mailtriage.ingest.sources.imap import ImapSource
from tests.servers.dovecot import DovecotServer, ImapMailbox, TcpProxy

pytestmark = pytest.mark.dovecot

CEST = timezone(timedelta(hours=2))


def message(n: int, body_bytes: int = 0) -> bytes:
    head = (f"From: Klant {n} <klant{n}@example.test>\r\nTo: helpdesk@example.test\r\n"
            f"Subject: Storing {n}\r\nMessage-ID: <m{n}@example.test>\r\n"
            "Date: Tue, 03 Mar 2026 10:00:00 +0100\r\n\r\n")
    body = f"De website ligt eruit ({n}).\r\n"
    filler = ("x" * 70 + "\r\n") * (body_bytes // 72)
    return (head + body + filler).encode()


def header_of(data: bytes) -> bytes:
    return data[: data.index(b"\r\n\r\n") + 4]


def nothing_seen(keys: Sequence[str]) -> set[str]:
    return set()


def read_all(cfg: MailboxConfig, cursor: Cursor | None = None) -> list[list[RawMail]]:
    with open_source(cfg) as source:
        return list(source.batches(cursor, nothing_seen))


def test_batches_carry_uid_uidvalidity_internaldate_and_bytes(imap_mailbox: ImapMailbox) -> None:
    sent = {}
    for n in range(5):
        date = datetime(2026, 3, 3, 9, n, 30, tzinfo=CEST)
        sent[imap_mailbox.append(message(n), internaldate=date)] = (message(n), date)
    uidvalidity = imap_mailbox.uidvalidity()

    batches = read_all(imap_mailbox.config(batch_size=2))

    assert [len(b) for b in batches] == [2, 2, 1]
    mails = [m for b in batches for m in b]
    assert [m.uid for m in mails] == [str(u) for u in sorted(sent)]
    for mail in mails:
        data, date = sent[int(mail.uid)]
        assert mail.mailbox == "helpdesk"
        assert mail.folder == "INBOX"
        assert mail.uidvalidity == uidvalidity
        assert mail.data == data
        assert mail.size == len(data)
        assert mail.internaldate == date
        assert mail.internaldate is not None and mail.internaldate.utcoffset() is not None
        assert mail.oversize is False


def test_cursor_resumes_after_the_last_uid(imap_mailbox: ImapMailbox) -> None:
    first = [imap_mailbox.append(message(n)) for n in range(3)]
    cfg = imap_mailbox.config()
    uidvalidity = imap_mailbox.uidvalidity()
    assert [m.uid for b in read_all(cfg) for m in b] == [str(u) for u in first]

    cursor = Cursor(uidvalidity=uidvalidity, last_uid=max(first))
    assert read_all(cfg, cursor) == []

    later = imap_mailbox.append(message(9))
    assert [m.uid for b in read_all(cfg, cursor) for m in b] == [str(later)]


def test_uid_range_above_the_highest_uid_yields_nothing(imap_mailbox: ImapMailbox,
                                                        dovecot: DovecotServer) -> None:
    uids = [imap_mailbox.append(message(n)) for n in range(3)]
    # The server quirk itself: "UID 4:*" matches the highest message although 4 > 3.
    with dovecot.client(imap_mailbox.user) as raw:
        raw.select_folder("INBOX", readonly=True)
        assert raw.search(["UID", f"{max(uids) + 1}:*"]) == [max(uids)]

    cfg = imap_mailbox.config()
    with open_source(cfg) as source:
        assert isinstance(source, ImapSource)
        assert source.new_uids(max(uids)) == []
        assert source.new_uids(max(uids) - 1) == [max(uids)]
        cursor = Cursor(source.uidvalidity(), max(uids))
        assert list(source.batches(cursor, nothing_seen)) == []


def test_recreated_folder_has_new_uidvalidity_and_is_rescanned(imap_mailbox: ImapMailbox) -> None:
    imap_mailbox.folder = "Support"
    for n in range(2):
        imap_mailbox.append(message(n))
    cfg = imap_mailbox.config()
    with open_source(cfg) as source:
        old_validity = source.uidvalidity()
        old = [m for b in source.batches(None, nothing_seen) for m in b]
    cursor = Cursor(old_validity, max(int(m.uid) for m in old))

    new_validity = imap_mailbox.recreate()
    uid = imap_mailbox.append(message(7))

    assert new_validity != old_validity
    with open_source(cfg) as source:
        assert source.uidvalidity() == new_validity
        mails = [m for b in source.batches(cursor, nothing_seen) for m in b]
    assert [(m.uid, m.uidvalidity, m.data) for m in mails] == [
        (str(uid), new_validity, message(7))]
    assert uid <= cursor.last_uid  # only a full rescan finds it


def test_oversize_mail_yields_only_its_header(imap_mailbox: ImapMailbox) -> None:
    small, big = message(1), message(2, body_bytes=5000)
    imap_mailbox.append(small)
    imap_mailbox.append(big)

    mails = [m for b in read_all(imap_mailbox.config(max_message_bytes=1000)) for m in b]

    assert [(m.oversize, m.data, m.size) for m in mails] == [
        (False, small, len(small)),
        (True, header_of(big), len(big)),
    ]


def test_reading_never_sets_seen_and_flag_marks_only_processed(imap_mailbox: ImapMailbox
                                                               ) -> None:
    uids = [imap_mailbox.append(message(n)) for n in range(3)]
    imap_mailbox.append(message(3), flags=("\\Flagged",))
    cfg = imap_mailbox.config(processed_action="flag")
    with open_source(cfg) as source:
        mails = [m for b in source.batches(None, nothing_seen) for m in b]
        assert len(mails) == 4
        assert all(flags.isdisjoint({"\\Seen"}) for flags in imap_mailbox.flags().values())
        source.mark_processed([str(uids[0]), str(uids[2])])

    flags = imap_mailbox.flags()
    assert flags == {uids[0]: {"$Mailtriage"}, uids[1]: set(), uids[2]: {"$Mailtriage"},
                     uids[2] + 1: {"\\Flagged"}}


def test_readonly_select_when_nothing_is_marked(imap_mailbox: ImapMailbox) -> None:
    uid = imap_mailbox.append(message(1))
    with open_source(imap_mailbox.config()) as source:
        list(source.batches(None, nothing_seen))
        source.mark_processed([str(uid)])  # processed_action none: nothing happens
    assert imap_mailbox.flags() == {uid: set()}


@pytest.mark.parametrize("hide_move", [False, True], ids=["MOVE", "COPY+EXPUNGE"])
def test_move_after_mark_processed(imap_mailbox: ImapMailbox, hide_move: bool,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    if hide_move:
        real = IMAPClient.has_capability

        def without_move(self: IMAPClient, capability: str) -> bool:
            return capability.upper() != "MOVE" and bool(real(self, capability))

        monkeypatch.setattr(IMAPClient, "has_capability", without_move)
    uids = [imap_mailbox.append(message(n)) for n in range(3)]
    assert "Processed" not in imap_mailbox.folders()
    cfg = imap_mailbox.config(processed_action="move")
    with open_source(cfg) as source:
        list(source.batches(None, nothing_seen))
        source.mark_processed([str(uids[0]), str(uids[1])])

    assert list(imap_mailbox.messages()) == [uids[2]]
    assert sorted(imap_mailbox.messages("Processed").values()) == sorted([message(0),
                                                                          message(1)])
    assert all(not f for f in imap_mailbox.flags("Processed").values())
    assert imap_mailbox.flags() == {uids[2]: set()}


def test_untrusted_certificate_is_refused(imap_mailbox: ImapMailbox,
                                          dovecot: DovecotServer) -> None:
    imap_mailbox.append(message(1))
    for ca_file in (dovecot.rogue_cafile, None):  # a foreign CA, and the system's CAs
        with pytest.raises(MailboxTLSError, match="certificate"):
            read_all(imap_mailbox.config(ca_file=ca_file, reconnect_attempts=3))


def test_starttls_on_the_plain_port(imap_mailbox: ImapMailbox, dovecot: DovecotServer) -> None:
    imap_mailbox.append(message(1))
    cfg = imap_mailbox.config(security="starttls", port=dovecot.imap_port)
    assert [m.data for b in read_all(cfg) for m in b] == [message(1)]


def test_starttls_stripped_by_the_network_is_refused(imap_mailbox: ImapMailbox,
                                                     dovecot: DovecotServer,
                                                     tcp_proxy: Callable[..., TcpProxy]) -> None:
    proxy = tcp_proxy(dovecot.imap_port, strip=(b" STARTTLS",))
    cfg = imap_mailbox.config(security="starttls", port=proxy.port)
    with pytest.raises(MailboxTLSError, match="STARTTLS"):
        read_all(cfg)
    assert imap_mailbox.password.encode() not in bytes(proxy.client_bytes)
    assert b"LOGIN" not in bytes(proxy.client_bytes).upper()


def test_plaintext_is_refused_for_a_non_loopback_host() -> None:
    cfg = MailboxConfig(name="remote", kind="imap", host="mail.example.test", port=143,
                        security="none", username="u", password="p")
    source = ImapSource(cfg)
    with pytest.raises(MailboxTLSError, match="loopback"):
        source.__enter__()
    assert source.connections == 0


def test_plaintext_on_loopback_is_allowed(imap_mailbox: ImapMailbox,
                                          dovecot: DovecotServer) -> None:
    imap_mailbox.append(message(1))
    cfg = imap_mailbox.config(security="none", port=dovecot.imap_port)
    assert [m.data for b in read_all(cfg) for m in b] == [message(1)]


def test_wrong_password_fails_at_once_without_retrying(imap_mailbox: ImapMailbox,
                                                       dovecot: DovecotServer,
                                                       tcp_proxy: Callable[..., TcpProxy]) -> None:
    proxy = tcp_proxy(dovecot.imaps_port)
    cfg = imap_mailbox.config(port=proxy.port, password="wrong", reconnect_attempts=3)
    started = time.monotonic()
    with pytest.raises(MailboxAuthError):
        read_all(cfg)
    assert time.monotonic() - started < 2.0
    assert proxy.connections == 1


def test_missing_folder_is_gone(imap_mailbox: ImapMailbox) -> None:
    with pytest.raises(MailboxGoneError, match="Nonexistent"):
        read_all(imap_mailbox.config(folder="Nonexistent", reconnect_attempts=3))


def test_connection_drop_mid_fetch_gives_up_after_bounded_retries(
        imap_mailbox: ImapMailbox, dovecot: DovecotServer,
        tcp_proxy: Callable[..., TcpProxy]) -> None:
    for n in range(4):
        imap_mailbox.append(message(n, body_bytes=30_000))
    proxy = tcp_proxy(dovecot.imap_port, cut_after=20_000)
    cfg = imap_mailbox.config(security="none", port=proxy.port, processed_action="flag",
                              reconnect_attempts=2)
    got: list[RawMail] = []
    with pytest.raises(MailboxConnectError, match="3 attempts"), open_source(cfg) as source:
        for batch in source.batches(None, nothing_seen):
            got.extend(batch)
            source.mark_processed([m.uid for m in batch])
    assert got == []
    assert proxy.connections == 3
    assert all(not flags for flags in imap_mailbox.flags().values())


def test_one_drop_is_survived_by_reconnecting(imap_mailbox: ImapMailbox, dovecot: DovecotServer,
                                              tcp_proxy: Callable[..., TcpProxy]) -> None:
    sent = [message(n, body_bytes=30_000) for n in range(4)]
    for data in sent:
        imap_mailbox.append(data)
    proxy = tcp_proxy(dovecot.imap_port, cut_after=20_000, faulty_connections=1)
    cfg = imap_mailbox.config(security="none", port=proxy.port, batch_size=2)
    assert [m.data for b in read_all(cfg) for m in b] == sent
    assert proxy.connections == 2


def test_a_stalling_server_trips_the_read_timeout(imap_mailbox: ImapMailbox,
                                                  dovecot: DovecotServer,
                                                  tcp_proxy: Callable[..., TcpProxy]) -> None:
    imap_mailbox.append(message(1, body_bytes=30_000))
    proxy = tcp_proxy(dovecot.imap_port, stall_after=5_000)
    cfg = imap_mailbox.config(security="none", port=proxy.port, read_timeout=0.5,
                              reconnect_attempts=1)
    started = time.monotonic()
    with pytest.raises(MailboxConnectError):
        read_all(cfg)
    elapsed = time.monotonic() - started
    # two attempts of 0.5 s each and one 0.25 s pause; far below the 10 s of the default rig
    assert 1.0 <= elapsed < 4.0
    assert proxy.connections == 2


def test_messages_expunged_between_search_and_fetch_are_skipped(
        imap_mailbox: ImapMailbox, dovecot: DovecotServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    uids = [imap_mailbox.append(message(n)) for n in range(3)]
    with open_source(imap_mailbox.config()) as source:
        assert isinstance(source, ImapSource)
        search = source.new_uids

        def search_then_expunge(after: int) -> list[int]:
            found = search(after)
            with dovecot.client(imap_mailbox.user) as other:
                other.select_folder("INBOX")
                other.delete_messages([uids[1]])
                other.uid_expunge([uids[1]])
            return found

        monkeypatch.setattr(source, "new_uids", search_then_expunge)
        mails = [m for b in source.batches(None, nothing_seen) for m in b]
    assert [m.uid for m in mails] == [str(uids[0]), str(uids[2])]


def test_fetch_one_for_replay(imap_mailbox: ImapMailbox) -> None:
    big = message(5, body_bytes=5000)
    uid = imap_mailbox.append(big)
    with open_source(imap_mailbox.config(max_message_bytes=1000)) as source:
        validity = source.uidvalidity()
        whole = source.fetch_one(validity, str(uid), size_limit=None)
        head = source.fetch_one(validity, str(uid), size_limit=1000)
        assert source.fetch_one(validity + 1, str(uid), size_limit=None) is None
        assert source.fetch_one(validity, str(uid + 1), size_limit=None) is None
    assert whole is not None and (whole.data, whole.oversize) == (big, False)
    assert head is not None and (head.data, head.oversize, head.size) == (header_of(big), True,
                                                                          len(big))


def test_xoauth2_with_a_token_command(imap_mailbox: ImapMailbox, dovecot: DovecotServer) -> None:
    imap_mailbox.append(message(1))
    token = dovecot.oauth2_token(imap_mailbox.user)
    command = f"{shlex.quote(sys.executable)} -c 'print(\"{token}\")'"
    cfg = imap_mailbox.config(password=None, oauth2_token_command=command)
    assert [m.data for b in read_all(cfg) for m in b] == [message(1)]
    assert token in dovecot.introspected_tokens


@pytest.mark.parametrize("command, match", [
    ("false", "status 1"),
    ("sh -c 'echo token expired >&2; exit 3'", "status 3: token expired"),
    ("true", "no single token"),
    ("/nonexistent/get-token", "could not be run"),
    ("sleep 5", "did not finish"),
    ("echo tok-not-issued", "refused the login"),
])
def test_xoauth2_token_problems_are_auth_errors(imap_mailbox: ImapMailbox, command: str,
                                                match: str) -> None:
    cfg = imap_mailbox.config(password=None, oauth2_token_command=command, connect_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(MailboxAuthError, match=match):
        read_all(cfg)
    assert time.monotonic() - started < 2.0
