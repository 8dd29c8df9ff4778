"""Dovecot fixtures: a throwaway Dovecot 2.3 on 127.0.0.1 for the IMAP adapter tests.

One Dovecot per test session, with its own configuration, base directory and a certificate
authority generated at start (``openssl``): plain IMAP with STARTTLS on one port, IMAPS on
another, Maildir storage, passwd-file users and XOAUTH2 checked against a small token
introspection endpoint served by the fixture. Each test gets a fresh user (``imap_mailbox``),
so tests never see each other's mail. Without Dovecot the tests are skipped, except under
CI=true, where that is a failure. A loopback TCP proxy (``tcp_proxy``) can cut or stall a
connection after a number of bytes, or strip words from what the server says.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

from mailtriage.config import MailboxConfig
from tests.servers.required import unavailable

DOVECOT = "/usr/sbin/dovecot"
USER_POOL = 200
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float,
                   greeting: bool) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Dovecot exited with {proc.returncode}: "
                               f"{log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5) as s:
                if not greeting or s.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"Dovecot did not listen on {port} within {timeout} s")


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA (P-256): returns (certificate, key)."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}")
    return cert, key


def make_server_cert(directory: Path, ca: tuple[Path, Path], names: str) -> tuple[Path, Path]:
    """A server certificate signed by ``ca`` for the subjectAltName ``names``."""
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    ext = directory / "server.ext"
    ext.write_text(f"subjectAltName={names}\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
             "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return cert, key


class _Introspection(ThreadingHTTPServer):
    tokens: dict[str, str]
    requests: list[str]


class _IntrospectionHandler(BaseHTTPRequestHandler):
    server: _Introspection

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip()
        self.server.requests.append(token)
        user = self.server.tokens.get(token)
        body = json.dumps({"active": True, "username": user} if user else {"active": False})
        data = body.encode()
        self.send_response(200 if user else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        return None


CONFIG = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = imap
listen = {host}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
auth_failure_delay = 0
mail_location = maildir:~/Maildir
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {base}/passwd
  mechanisms = plain login
}}
passdb {{
  driver = oauth2
  args = {base}/oauth2.conf
  mechanisms = xoauth2
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # no growing delay after failed logins from 127.0.0.1: the tests fail logins on purpose
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


@dataclass
class DovecotServer:
    """A running Dovecot; ``user(...)`` makes accounts, the other methods act on their mail."""

    base: Path
    imap_port: int
    imaps_port: int
    cafile: Path
    rogue_cafile: Path
    """A CA that did not sign the server's certificate (for the refusal test)."""
    process: subprocess.Popen[bytes]
    introspection: _Introspection
    host: str = HOST
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _passwords: dict[str, str] = field(default_factory=dict)
    _pool: list[str] = field(default_factory=list)

    @property
    def log(self) -> Path:
        return self.base / "dovecot.log"

    def add_user(self) -> tuple[str, str]:
        """A fresh account (name, password) from the pool written before Dovecot started.

        Dovecot re-reads its passwd file at most once a second, so accounts are made up front;
        when the pool runs out, more are added and the next second awaited.
        """
        if not self._pool:
            self._write_users(USER_POOL)
            time.sleep(1.1)
        name = self._pool.pop(0)
        return name, self._passwords[name]

    def _write_users(self, count: int) -> None:
        lines = []
        for _ in range(count):
            name, password = f"user{next(self._counter)}", secrets.token_hex(8)
            self._passwords[name] = password
            self._pool.append(name)
            lines.append(f"{name}:{{PLAIN}}{password}::::::\n")
        with (self.base / "passwd").open("a") as fh:
            fh.writelines(lines)

    def oauth2_token(self, user: str) -> str:
        """A bearer token the introspection endpoint accepts for ``user``."""
        token = "tok-" + secrets.token_hex(12)
        self.introspection.tokens[token] = user
        return token

    @property
    def introspected_tokens(self) -> list[str]:
        return list(self.introspection.requests)

    def maildir(self, user: str) -> Path:
        return self.base / "home" / user / "Maildir"

    def client(self, user: str) -> IMAPClient:
        """A logged-in plain loopback connection for setting up and inspecting mail."""
        client = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=10)
        client.login(user, self._passwords[user])
        return client

    def append(self, user: str, folder: str, data: bytes,
               internaldate: datetime | None = None, flags: tuple[str, ...] = ()) -> int:
        """APPEND ``data`` to ``folder`` (created when missing); returns the new UID."""
        with self.client(user) as c:
            if not c.folder_exists(folder):
                c.create_folder(folder)
            answer = c.append(folder, data, flags=flags, msg_time=internaldate)
        # "[APPENDUID <uidvalidity> <uid>] Append completed."
        text = answer.decode() if isinstance(answer, bytes) else str(answer)
        return int(text.split("APPENDUID", 1)[1].split("]", 1)[0].split()[1])

    def recreate_folder(self, user: str, folder: str) -> int:
        """Delete and create ``folder`` again (a new UIDVALIDITY, its mail gone); returns it."""
        with self.client(user) as c:
            if folder.upper() == "INBOX":
                c.select_folder("INBOX")
                c.delete_messages(c.search(["ALL"]))
                c.expunge()
                c.close_folder()
                # INBOX cannot be deleted: rename it away, which creates a new empty INBOX.
                c.rename_folder("INBOX", f"Old{next(self._counter)}")
            else:
                if c.folder_exists(folder):
                    c.delete_folder(folder)
                c.create_folder(folder)
            status = c.folder_status(folder, [b"UIDVALIDITY"])
        return int(status[b"UIDVALIDITY"])

    def uidvalidity(self, user: str, folder: str) -> int:
        with self.client(user) as c:
            return int(c.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def flags(self, user: str, folder: str) -> dict[int, set[str]]:
        """UID -> flags (as text) of every message in ``folder``."""
        with self.client(user) as c:
            c.select_folder(folder, readonly=True)
            found = c.get_flags(c.search(["ALL"]))
        # \Recent belongs to the session, not the message; left out.
        return {int(uid): {f.decode() if isinstance(f, bytes) else str(f) for f in fl}
                - {"\\Recent"} for uid, fl in found.items()}

    def messages(self, user: str, folder: str) -> dict[int, bytes]:
        """UID -> full message of ``folder``, read with PEEK."""
        with self.client(user) as c:
            if not c.folder_exists(folder):
                return {}
            c.select_folder(folder, readonly=True)
            uids = c.search(["ALL"])
            if not uids:
                return {}
            found = c.fetch(uids, [b"BODY.PEEK[]"])
        return {int(uid): data[b"BODY[]"] for uid, data in found.items()}

    def folders(self, user: str) -> set[str]:
        with self.client(user) as c:
            return {name for _, _, name in c.list_folders()}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.introspection.shutdown()
        self.introspection.server_close()


@dataclass
class ImapMailbox:
    """A fresh Dovecot user for one test, with shortcuts to its mail and a matching config."""

    server: DovecotServer
    user: str
    password: str
    folder: str = "INBOX"

    def config(self, **overrides: Any) -> MailboxConfig:
        """A MailboxConfig for this user over IMAPS with the test CA; ``overrides`` replace."""
        base = MailboxConfig(
            name="helpdesk", kind="imap", host=self.server.host, port=self.server.imaps_port,
            security="tls", username=self.user, password=self.password, folder=self.folder,
            ca_file=self.server.cafile, connect_timeout=5.0, read_timeout=10.0,
            reconnect_attempts=2,
        )
        return replace(base, **overrides)

    def append(self, data: bytes, internaldate: datetime | None = None,
               folder: str | None = None, flags: tuple[str, ...] = ()) -> int:
        return self.server.append(self.user, folder or self.folder, data, internaldate, flags)

    def recreate(self, folder: str | None = None) -> int:
        return self.server.recreate_folder(self.user, folder or self.folder)

    def uidvalidity(self, folder: str | None = None) -> int:
        return self.server.uidvalidity(self.user, folder or self.folder)

    def flags(self, folder: str | None = None) -> dict[int, set[str]]:
        return self.server.flags(self.user, folder or self.folder)

    def messages(self, folder: str | None = None) -> dict[int, bytes]:
        return self.server.messages(self.user, folder or self.folder)

    def folders(self) -> set[str]:
        return self.server.folders(self.user)


def _ensure_dovecot() -> str | None:
    """None when Dovecot is installed (installing it once as root if possible), else why not."""
    if shutil.which("openssl") is None:
        return "openssl is not installed"
    if Path(DOVECOT).exists():
        return None
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "dovecot-imapd"], capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, check=False)
        if Path(DOVECOT).exists():
            return None
    return f"{DOVECOT} is not installed (apt-get install dovecot-imapd)"


def _accounts() -> tuple[int, int, str]:
    """(uid, gid, users config) for the mail files and Dovecot's own processes."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid()).pw_name
        users = f"default_internal_user = {me}\ndefault_login_user = {me}"
        return os.geteuid(), os.getegid(), users
    # Dovecot refuses to serve mail as root: mail files belong to an unprivileged account.
    mail = pwd.getpwnam("nobody")
    internal = "dovecot" if _has_user("dovecot") else "nobody"
    login = "dovenull" if _has_user("dovenull") else "nobody"
    users = f"default_internal_user = {internal}\ndefault_login_user = {login}"
    return mail.pw_uid, mail.pw_gid, users


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def start_dovecot() -> DovecotServer:
    base = Path(tempfile.mkdtemp(prefix="mailtriage-dovecot-"))
    base.chmod(0o755)
    uid, gid, users = _accounts()
    (base / "run").mkdir()
    (base / "state").mkdir()
    home = base / "home"
    home.mkdir()
    os.chown(home, uid, gid)
    ca = make_ca(base, "test-ca")
    rogue, _ = make_ca(base, "rogue-ca")
    cert, key = make_server_cert(base, ca, f"IP:{HOST},DNS:localhost")
    (base / "passwd").write_text("")
    introspection = _Introspection((HOST, 0), _IntrospectionHandler)
    introspection.tokens = {}
    introspection.requests = []
    threading.Thread(target=introspection.serve_forever, daemon=True,
                     name="oauth2-introspection").start()
    (base / "oauth2.conf").write_text(
        "introspection_mode = auth\n"
        f"introspection_url = http://{HOST}:{introspection.server_address[1]}/introspect\n"
        "username_attribute = username\nactive_attribute = active\nactive_value = true\n")
    imap_port, imaps_port = _free_port(), _free_port()
    conf = base / "dovecot.conf"
    conf.write_text(CONFIG.format(base=base, host=HOST, cert=cert, key=key, users=users,
                                  uid=uid, gid=gid, imap_port=imap_port, imaps_port=imaps_port))
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    server = DovecotServer(base=base, imap_port=imap_port, imaps_port=imaps_port,
                           cafile=ca[0], rogue_cafile=rogue, process=process,
                           introspection=introspection)
    server._write_users(USER_POOL)
    try:
        _wait_for_port(imap_port, process, server.log, timeout=10, greeting=True)
        _wait_for_port(imaps_port, process, server.log, timeout=10, greeting=False)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """The session's Dovecot; skipped when it cannot run (failed under CI=true)."""
    problem = _ensure_dovecot()
    if problem is not None:
        unavailable(f"Dovecot cannot run: {problem}")
    server = start_dovecot()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.base, ignore_errors=True)


@pytest.fixture()
def imap_mailbox(dovecot: DovecotServer) -> ImapMailbox:
    """A fresh, empty Dovecot user for this test."""
    user, password = dovecot.add_user()
    return ImapMailbox(dovecot, user, password)


# ------------------------------------------------------------------------------------------------
# A loopback TCP proxy that misbehaves on purpose


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target port, optionally misbehaving.

    ``cut_after``: close both sides once that many bytes went from server to client on one
    connection (for the first ``faulty_connections`` connections; None means all).
    ``stall_after``: stop forwarding server bytes after that many, keeping the socket open.
    ``strip``: byte strings removed from what the server says (a downgrade attack).
    """

    def __init__(self, target_port: int, *, cut_after: int | None = None,
                 stall_after: int | None = None, strip: tuple[bytes, ...] = (),
                 faulty_connections: int | None = None) -> None:
        self.target_port = target_port
        self.cut_after = cut_after
        self.stall_after = stall_after
        self.strip = strip
        self.faulty_connections = faulty_connections
        self.connections = 0
        self.client_bytes = bytearray()
        """Everything clients sent (to check what went over the wire)."""
        self._listener = socket.create_server((HOST, 0))
        self.port = int(self._listener.getsockname()[1])
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True, name="tcp-proxy").start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            faulty = self.faulty_connections is None or self.connections <= self.faulty_connections
            try:
                upstream = socket.create_connection((HOST, self.target_port))
            except OSError:
                client.close()
                continue
            self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, False, False),
                             daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True, faulty),
                             daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, from_server: bool,
              faulty: bool) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(4096)
                if not data:
                    break
                if not from_server:
                    self.client_bytes += data
                    dst.sendall(data)
                    continue
                for word in self.strip:
                    data = data.replace(word, b"")
                if faulty and self.cut_after is not None and sent + len(data) >= self.cut_after:
                    dst.sendall(data[: self.cut_after - sent])
                    break
                if faulty and self.stall_after is not None and sent + len(data) >= self.stall_after:
                    dst.sendall(data[: self.stall_after - sent])
                    self._closed.wait()
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.close()


@pytest.fixture()
def tcp_proxy() -> Iterator[Callable[..., TcpProxy]]:
    """Factory: ``tcp_proxy(target_port, cut_after=..., stall_after=..., strip=...)``."""
    made: list[TcpProxy] = []

    def make(target_port: int, **options: Any) -> TcpProxy:
        proxy = TcpProxy(target_port, **options)
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.close()


