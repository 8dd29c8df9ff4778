"""SmtpTransport against a real aiosmtpd server on 127.0.0.1: security, AUTH and every failure."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest

from mailtriage.errors import (
    DeliverySetupError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)
from mailtriage.ingest.message import Address
from mailtriage.notify.compose import OutgoingMail, compose_message, new_message_id
from mailtriage.notify.smtp import SmtpTransport, smtp_payload
from tests.servers.smtp import HOST, SmtpTestServer, closed_port

ServerFactory = Callable[..., SmtpTestServer]
RCPT = ["jan@klant.nl"]


def message(text: str = "Beste Jan,\n\nUw melding is ontvangen.\n") -> bytes:
    message_id, _ = new_message_id("example.test")
    return compose_message(OutgoingMail(
        sender=Address("helpdesk@example.test", "Helpdesk"),
        recipient=Address("jan@klant.nl", "Jan"), subject="Re: Storing é [#1]", text=text,
        html=None, message_id=message_id, date=datetime(2025, 3, 14, 15, 31, tzinfo=UTC)))


def subject_of(data: bytes) -> str:
    return str(BytesParser(policy=policy.default).parsebytes(data)["Subject"])


def strictly_temporary(exc: BaseException) -> bool:
    return (isinstance(exc, TemporaryDeliveryError)
            and not isinstance(exc, UncertainDeliveryError | DeliverySetupError))


# -- delivery ------------------------------------------------------------------------------------


def test_plain_delivery_with_null_envelope_sender(smtp_server: SmtpTestServer) -> None:
    data = message()
    SmtpTransport(smtp_server.smtp_config()).send(data, "", RCPT)
    [got] = smtp_server.wait_for(1)
    assert got.mail_from == "<>"
    assert got.rcpt_tos == RCPT
    assert subject_of(got.data) == "Re: Storing é [#1]"
    assert got.data.rstrip(b"\r\n") == data.rstrip(b"\r\n")
    assert got.tls is False


def test_lines_starting_with_a_dot_arrive_intact(smtp_server: SmtpTestServer) -> None:
    text = ".\n..twee punten\n.een punt\nslot\n"
    SmtpTransport(smtp_server.smtp_config()).send(message(text), "helpdesk@example.test", RCPT)
    [got] = smtp_server.wait_for(1)
    body = BytesParser(policy=policy.default).parsebytes(got.data).get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == text
    assert got.mail_from == "helpdesk@example.test"


def test_payload_dot_stuffing_and_line_ends() -> None:
    assert smtp_payload(b"a\n.b\r\n..c\rd") == b"a\r\n..b\r\n...c\r\nd\r\n.\r\n"


def test_starttls_delivery_verified_against_the_test_ca(
        smtp_server_starttls: SmtpTestServer) -> None:
    SmtpTransport(smtp_server_starttls.smtp_config()).send(message(), "", RCPT)
    [got] = smtp_server_starttls.wait_for(1)
    assert got.tls is True


def test_implicit_tls_delivery(smtp_server_tls: SmtpTestServer) -> None:
    SmtpTransport(smtp_server_tls.smtp_config()).send(message(), "", RCPT)
    [got] = smtp_server_tls.wait_for(1)
    assert got.tls is True


def test_auth_login(smtp_server_auth: SmtpTestServer) -> None:
    SmtpTransport(smtp_server_auth.smtp_config()).send(message(), "", RCPT)
    [got] = smtp_server_auth.wait_for(1)
    assert got.login == "helpdesk"


def test_auth_over_starttls(smtp_server_factory: ServerFactory) -> None:
    server = smtp_server_factory("starttls", auth=("helpdesk", "geheim"))
    SmtpTransport(server.smtp_config()).send(message(), "", RCPT)
    [got] = server.wait_for(1)
    assert got.login == "helpdesk" and got.tls is True


def test_wrong_password_is_a_setup_error(smtp_server_auth: SmtpTestServer) -> None:
    with pytest.raises(DeliverySetupError, match="refused the login") as info:
        SmtpTransport(smtp_server_auth.smtp_config(password="fout")).send(message(), "", RCPT)
    assert "535" in str(info.value)
    assert isinstance(info.value, TemporaryDeliveryError)  # retried, no message failed for it
    assert smtp_server_auth.messages == []


def test_several_messages_one_after_another(smtp_server: SmtpTestServer) -> None:
    transport = SmtpTransport(smtp_server.smtp_config())
    for _ in range(5):
        transport.send(message(), "", RCPT)
    assert len(smtp_server.wait_for(5)) == 5


# -- one session for a run of messages -----------------------------------------------------------


@pytest.mark.parametrize("server", ["smtp_server", "smtp_server_auth", "smtp_server_starttls"])
def test_messages_share_one_session_until_it_is_closed(request: pytest.FixtureRequest,
                                                       server: str) -> None:
    smtp_server: SmtpTestServer = request.getfixturevalue(server)
    transport = SmtpTransport(smtp_server.smtp_config())
    for _ in range(3):
        transport.send(message(), "", RCPT)
    transport.close()
    transport.close()  # closing twice is harmless
    transport.send(message(), "", RCPT)
    transport.close()
    got = smtp_server.wait_for(4)
    assert len({m.peer for m in got[:3]}) == 1
    assert got[3].peer != got[0].peer


@pytest.mark.parametrize(("stage", "code"), [("mail", 421), ("mail", 451), ("rcpt", 450)])
def test_a_kept_session_refusing_before_data_gets_one_fresh_try(
        smtp_server: SmtpTestServer, stage: str, code: int) -> None:
    # A server that takes only so many messages per connection answers 421 to the next MAIL.
    transport = SmtpTransport(smtp_server.smtp_config())
    transport.send(message(), "", RCPT)
    smtp_server.fail_next(code, 1, stage=stage)  # type: ignore[arg-type]
    transport.send(message(), "", RCPT)
    first, second = smtp_server.wait_for(2)
    assert first.peer != second.peer
    # Refused on the fresh session too: the message's attempt fails, nothing went out.
    smtp_server.fail_next(code, 2, stage=stage)  # type: ignore[arg-type]
    with pytest.raises(TemporaryDeliveryError) as info:
        transport.send(message(), "", RCPT)
    assert strictly_temporary(info.value)
    assert len(smtp_server.messages) == 2


def test_a_session_the_server_closed_while_idle_is_replaced(
        smtp_server: SmtpTestServer) -> None:
    transport = SmtpTransport(smtp_server.smtp_config())
    smtp_server.hang_up_after_next(1)
    transport.send(message(), "", RCPT)
    time.sleep(0.2)  # the server has closed the connection by now
    sent: list[int] = []
    transport.send(message(), "", RCPT, before_data=lambda: sent.append(1))
    assert sent == [1]  # marked once: the first try never reached DATA
    first, second = smtp_server.wait_for(2)
    assert first.peer != second.peer


def test_after_the_message_went_out_a_lost_answer_is_not_retried(
        smtp_server: SmtpTestServer) -> None:
    transport = SmtpTransport(smtp_server.smtp_config())
    transport.send(message(), "", RCPT)
    smtp_server.drop_next(1)
    with pytest.raises(UncertainDeliveryError):
        transport.send(message(), "", RCPT)
    _, second = smtp_server.wait_for(2)
    assert second.answered is False
    transport.send(message(), "", RCPT)  # a new session; the uncertain one is not resent
    assert len(smtp_server.wait_for(3)) == 3


def test_a_permanent_refusal_ends_the_session(smtp_server: SmtpTestServer) -> None:
    transport = SmtpTransport(smtp_server.smtp_config())
    transport.send(message(), "", RCPT)
    smtp_server.fail_next(550, 1, stage="rcpt")
    with pytest.raises(PermanentDeliveryError):
        transport.send(message(), "", RCPT)
    transport.send(message(), "", RCPT)
    first, second = smtp_server.wait_for(2)
    assert first.peer != second.peer


# -- TLS refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["starttls", "tls"])
@pytest.mark.parametrize("cert", ["untrusted", "wrong_host"])
def test_wrong_certificate_is_refused(smtp_server_factory: ServerFactory, security: str,
                                      cert: str) -> None:
    server = smtp_server_factory(security, cert=cert)
    with pytest.raises(DeliverySetupError, match="TLS"):
        SmtpTransport(server.smtp_config()).send(message(), "", RCPT)
    assert server.messages == []


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_certificate_of_another_ca_is_refused(smtp_server_factory: ServerFactory,
                                              smtp_certs: object, security: str) -> None:
    server = smtp_server_factory(security)
    cfg = server.smtp_config(ca_file=smtp_certs.other_ca_file)  # type: ignore[attr-defined]
    with pytest.raises(DeliverySetupError, match="certificate verify failed"):
        SmtpTransport(cfg).send(message(), "", RCPT)
    assert server.messages == []


def test_system_trust_store_does_not_trust_the_test_ca(
        smtp_server_starttls: SmtpTestServer) -> None:
    with pytest.raises(DeliverySetupError):
        SmtpTransport(smtp_server_starttls.smtp_config(ca_file=None)).send(message(), "", RCPT)


def test_starttls_not_offered_is_refused(smtp_server: SmtpTestServer) -> None:
    cfg = smtp_server.smtp_config(security="starttls")
    with pytest.raises(DeliverySetupError, match="does not offer STARTTLS"):
        SmtpTransport(cfg).send(message(), "", RCPT)
    assert smtp_server.messages == []


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "code"), [("data", 451), ("data", 421), ("rcpt", 450),
                                             ("rcpt", 452), ("mail", 451)])
def test_4xx_is_temporary(smtp_server: SmtpTestServer, stage: str, code: int) -> None:
    smtp_server.fail_next(code, 1, stage=stage, text="Greylisted, come back later")  # type: ignore[arg-type]
    transport = SmtpTransport(smtp_server.smtp_config())
    with pytest.raises(TemporaryDeliveryError) as info:
        transport.send(message(), "", RCPT)
    assert strictly_temporary(info.value)
    assert str(code) in str(info.value)
    assert "Greylisted, come back later" in str(info.value)
    assert smtp_server.messages == []
    transport.send(message(), "", RCPT)  # the next attempt goes through
    assert len(smtp_server.wait_for(1)) == 1


@pytest.mark.parametrize(("stage", "code"), [("data", 554), ("data", 552), ("rcpt", 550),
                                             ("mail", 553)])
def test_5xx_is_permanent_with_the_server_text(smtp_server: SmtpTestServer, stage: str,
                                               code: int) -> None:
    smtp_server.fail_next(code, 1, stage=stage, text="Mailbox unavailable: no such user")  # type: ignore[arg-type]
    with pytest.raises(PermanentDeliveryError) as info:
        SmtpTransport(smtp_server.smtp_config()).send(message(), "", RCPT)
    assert f"{code} Mailbox unavailable: no such user" in str(info.value)
    assert smtp_server.messages == []


def test_one_refused_recipient_sends_to_none(smtp_server: SmtpTestServer) -> None:
    smtp_server.fail_next(550, 1, stage="rcpt")
    with pytest.raises(PermanentDeliveryError, match="recipient refused"):
        SmtpTransport(smtp_server.smtp_config()).send(message(), "",
                                                      ["a@klant.nl", "b@klant.nl"])
    assert smtp_server.messages == []


def test_connection_refused_is_temporary() -> None:
    cfg = SmtpTestServer(HOST, closed_port(), "none").smtp_config()
    with pytest.raises(TemporaryDeliveryError, match="cannot connect") as info:
        SmtpTransport(cfg).send(message(), "", RCPT)
    assert strictly_temporary(info.value)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A listener that accepts connections and never says a word."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    sock.listen(5)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                accepted.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    sock.close()


def test_silent_server_times_out_as_temporary(silent_server: int) -> None:
    cfg = SmtpTestServer(HOST, silent_server, "none").smtp_config(timeout=0.5)
    started = time.monotonic()
    with pytest.raises(TemporaryDeliveryError) as info:
        SmtpTransport(cfg).send(message(), "", RCPT)
    assert strictly_temporary(info.value)
    assert time.monotonic() - started < 5


def test_connection_dropped_after_data_is_uncertain(smtp_server: SmtpTestServer) -> None:
    smtp_server.drop_next(1)
    with pytest.raises(UncertainDeliveryError, match="may have been delivered"):
        SmtpTransport(smtp_server.smtp_config()).send(message(), "", RCPT)
    # The server did get the whole message: resending blindly would deliver it twice.
    [got] = smtp_server.wait_for(1)
    assert got.answered is False


def test_invalid_recipient_never_reaches_the_server(smtp_server: SmtpTestServer) -> None:
    with pytest.raises(PermanentDeliveryError):
        SmtpTransport(smtp_server.smtp_config()).send(message(), "",
                                                      ["jan@klant.nl\r\nRCPT TO:<x@evil>"])
    assert smtp_server.messages == []
