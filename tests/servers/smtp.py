"""Real SMTP servers on 127.0.0.1 for tests: aiosmtpd, plain, STARTTLS, implicit TLS, AUTH.

Fixtures
--------
``smtp_certs`` (session)
    A throwaway CA and server certificates made with ``cryptography``: ``ca_file`` (trust this),
    ``good`` (signed by the CA for 127.0.0.1 and localhost), ``wrong_host`` (signed by the CA for
    ``wrong.example`` only), ``untrusted`` (self-signed, for 127.0.0.1), ``other_ca_file``.
``smtp_server_factory``
    ``factory(security="none"|"starttls"|"tls", *, auth=None|(user, password),
    cert="good"|"wrong_host"|"untrusted") -> SmtpTestServer``; servers stop at teardown.
``smtp_server``, ``smtp_server_starttls``, ``smtp_server_tls``, ``smtp_server_auth``
    Ready servers: plain; STARTTLS required; implicit TLS; plain with AUTH
    (``smtp_server_auth.username`` / ``.password``).

``SmtpTestServer``: ``.host``, ``.port``, ``.security``, ``.cafile`` (Path or None),
``.messages`` (list of ``ReceivedMessage``: ``mail_from``, ``rcpt_tos``, ``data`` bytes,
``answered``, ``tls``, ``login``), ``.fail_next(code, n=1, stage="data", text=None)`` (answer
``code`` at MAIL, RCPT or end of DATA for the next ``n`` messages), ``.drop_next(n=1)`` (take the
next ``n`` messages, then close the connection without answering), ``.wait_for(count)``,
``.clear()``, ``.smtp_config(**overrides)`` (a matching ``SmtpConfig``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mailtriage.config import SmtpConfig

HOST = "127.0.0.1"
Stage = Literal["mail", "rcpt", "data"]


# ------------------------------------------------------------------------------------------
# Certificates


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.cert), str(self.key))
        return ctx


@dataclass(frozen=True)
class SmtpCertificates:
    ca_file: Path
    other_ca_file: Path
    good: CertPair
    wrong_host: CertPair
    untrusted: CertPair


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _make_ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn)).issuer_name(_name(cn))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_leaf(issuer_key: ec.EllipticCurvePrivateKey | None, issuer: x509.Certificate | None,
               cn: str, names: list[x509.GeneralName]) -> tuple[ec.EllipticCurvePrivateKey,
                                                              x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    sign_key = issuer_key or key
    issuer_name = issuer.subject if issuer is not None else _name(cn)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn)).issuer_name(issuer_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            sign_key.public_key()), critical=False)
        .sign(sign_key, hashes.SHA256())
    )
    return key, cert


def make_certificates(directory: Path) -> SmtpCertificates:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _make_ca("mailtriage test CA")
    _write_cert(ca_cert, directory / "ca.pem")
    _, other_ca = _make_ca("another test CA")
    _write_cert(other_ca, directory / "other-ca.pem")
    loopback: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(HOST)),
                                        x509.DNSName("localhost")]
    pairs = {}
    for label, issuer_key, issuer, cn, names in (
        ("good", ca_key, ca_cert, "localhost", loopback),
        ("wrong_host", ca_key, ca_cert, "wrong.example", [x509.DNSName("wrong.example")]),
        ("untrusted", None, None, "localhost", loopback),
    ):
        key, cert = _make_leaf(issuer_key, issuer, cn, names)
        pair = CertPair(directory / f"{label}.pem", directory / f"{label}.key")
        _write_cert(cert, pair.cert)
        _write_key(key, pair.key)
        pairs[label] = pair
    return SmtpCertificates(directory / "ca.pem", directory / "other-ca.pem", pairs["good"],
                            pairs["wrong_host"], pairs["untrusted"])


# ------------------------------------------------------------------------------------------
# The server


@dataclass
class ReceivedMessage:
    """One message the server took: envelope, raw bytes, and whether it answered."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    answered: bool = True
    tls: bool = False
    login: str | None = None
    peer: object = None
    """The client's address and port: one per connection."""


@dataclass
class _Failure:
    code: int
    stage: Stage
    text: str
    remaining: int


@dataclass
class SmtpTestServer:
    """A running aiosmtpd server plus the knobs to make it misbehave."""

    host: str
    port: int
    security: Literal["none", "starttls", "tls"]
    cafile: Path | None = None
    username: str | None = None
    password: str | None = None
    messages: list[ReceivedMessage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _failures: list[_Failure] = field(default_factory=list, repr=False)
    _drops: int = 0
    _hang_ups: int = 0
    _controller: Any = field(default=None, repr=False)

    def fail_next(self, code: int, n: int = 1, stage: Stage = "data",
                  text: str | None = None) -> None:
        """Answer ``code`` at ``stage`` (mail, rcpt or data) for the next ``n`` messages."""
        reply = text or ("Try again later" if code < 500 else "Rejected for good")
        with self._lock:
            self._failures.append(_Failure(code, stage, reply, n))

    def hang_up_after_next(self, n: int = 1) -> None:
        """Answer the next ``n`` messages, then close their connections (an idle timeout)."""
        with self._lock:
            self._hang_ups += n

    def drop_next(self, n: int = 1) -> None:
        """Take the next ``n`` messages, then close the connection without a reply."""
        with self._lock:
            self._drops += n

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self._failures.clear()
            self._drops = 0

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.01)
        with self._lock:
            raise AssertionError(f"expected {count} messages, got {len(self.messages)}")

    def smtp_config(self, **overrides: Any) -> SmtpConfig:
        """An ``SmtpConfig`` pointing at this server (trusting the test CA, with the login)."""
        cfg = SmtpConfig(transport="smtp", host=self.host, port=self.port,
                         security=self.security, username=self.username or "",
                         password=self.password, from_address="helpdesk@example.test",
                         from_name="Helpdesk", timeout=5.0, ca_file=self.cafile)
        return replace(cfg, **overrides)

    # -- used by the handler (server thread) ------------------------------------------------

    def _take_failure(self, stage: Stage) -> _Failure | None:
        with self._lock:
            for f in self._failures:
                if f.stage == stage and f.remaining > 0:
                    f.remaining -= 1
                    return f
            return None

    def _take(self, knob: Literal["_drops", "_hang_ups"]) -> bool:
        """Use up one of the messages set aside by ``drop_next`` or ``hang_up_after_next``."""
        with self._lock:
            left: int = getattr(self, knob)
            if left > 0:
                setattr(self, knob, left - 1)
                return True
            return False

    def _record(self, message: ReceivedMessage) -> None:
        with self._lock:
            self.messages.append(message)


class _Handler:
    def __init__(self, owner: SmtpTestServer) -> None:
        self.owner = owner

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        failure = self.owner._take_failure("mail")
        if failure is not None:
            return f"{failure.code} {failure.text}"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        failure = self.owner._take_failure("rcpt")
        if failure is not None:
            return f"{failure.code} {failure.text}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        failure = self.owner._take_failure("data")
        if failure is not None:
            return f"{failure.code} {failure.text}"
        data = envelope.original_content or envelope.content
        login = None
        if session.auth_data is not None and isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode("utf-8", "replace")
        tls = session.ssl is not None or (
            server.transport is not None
            and server.transport.get_extra_info("ssl_object") is not None)
        if self.owner._take("_drops"):
            self.owner._record(ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos),
                                               bytes(data), answered=False, tls=tls,
                                               login=login, peer=session.peer))
            server.transport.abort()
            return "250 never seen by the client"
        self.owner._record(ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos),
                                           bytes(data), tls=tls, login=login,
                                           peer=session.peer))
        if self.owner._take("_hang_ups"):
            # Runs once the reply below is written: the client sees 250, then the close.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 Message accepted for delivery"


class _Authenticator:
    def __init__(self, username: str, password: str) -> None:
        self.username = username.encode()
        self.password = password.encode()

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == self.username
              and auth_data.password == self.password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def closed_port() -> int:
    """A loopback port with nothing listening on it (connection refused)."""
    return free_port()


def start_server(certs: SmtpCertificates, security: Literal["none", "starttls", "tls"] = "none",
                 *, auth: tuple[str, str] | None = None,
                 cert: Literal["good", "wrong_host", "untrusted"] = "good") -> SmtpTestServer:
    pair: CertPair = getattr(certs, cert)
    server = SmtpTestServer(HOST, free_port(), security,
                            cafile=certs.ca_file if security != "none" else None,
                            username=auth[0] if auth else None,
                            password=auth[1] if auth else None)
    kwargs: dict[str, Any] = {"hostname": HOST, "port": server.port,
                              "server_hostname": "mx.test", "ready_timeout": 5.0}
    if security == "starttls":
        kwargs.update(tls_context=pair.server_context(), require_starttls=True)
    elif security == "tls":
        kwargs.update(ssl_context=pair.server_context())
    if auth is not None:
        kwargs.update(authenticator=_Authenticator(*auth), auth_require_tls=security != "none")
    controller = Controller(_Handler(server), **kwargs)
    controller.start()
    server._controller = controller
    return server


def stop_server(server: SmtpTestServer) -> None:
    if server._controller is not None:
        server._controller.stop()
        server._controller = None


@pytest.fixture(scope="session")
def smtp_certs(tmp_path_factory: pytest.TempPathFactory) -> SmtpCertificates:
    return make_certificates(tmp_path_factory.mktemp("smtp-certs"))


@pytest.fixture
def smtp_server_factory(smtp_certs: SmtpCertificates
                        ) -> Iterator[Callable[..., SmtpTestServer]]:
    started: list[SmtpTestServer] = []

    def factory(security: Literal["none", "starttls", "tls"] = "none", *,
                auth: tuple[str, str] | None = None,
                cert: Literal["good", "wrong_host", "untrusted"] = "good") -> SmtpTestServer:
        server = start_server(smtp_certs, security, auth=auth, cert=cert)
        started.append(server)
        return server

    yield factory
    for server in started:
        stop_server(server)


@pytest.fixture
def smtp_server(smtp_server_factory: Callable[..., SmtpTestServer]) -> SmtpTestServer:
    return smtp_server_factory("none")


@pytest.fixture
def smtp_server_starttls(smtp_server_factory: Callable[..., SmtpTestServer]) -> SmtpTestServer:
    return smtp_server_factory("starttls")


@pytest.fixture
def smtp_server_tls(smtp_server_factory: Callable[..., SmtpTestServer]) -> SmtpTestServer:
    return smtp_server_factory("tls")


@pytest.fixture
def smtp_server_auth(smtp_server_factory: Callable[..., SmtpTestServer]) -> SmtpTestServer:
    return smtp_server_factory("none", auth=("helpdesk", "s3cret wachtwoord"))
