"""Whole-pipeline throughput: `mailtriage run` against `mbsync` pulling the same IMAP mailbox.

One run starts a throwaway Dovecot on 127.0.0.1, writes N generated helpdesk mails straight into
the user's Maildir (mixed Dutch and English; plain, HTML and multipart with attachments from a few
KB to over 1 MB; threads whose replies reference earlier mails; out-of-office replies; median about
5 KB, p99 about 1 MB) and lets Dovecot index them. Then it times

  1. ``mbsync`` with a generated .mbsyncrc (default settings) pulling INBOX into a fresh Maildir;
  2. ``python -m mailtriage --config X run --quiet`` on a fresh database (schema made beforehand
     with ``mailtriage init``), file transport for replies, processed mail flagged;
  3. the same command again with nothing new;
  4. with staff alerts configured (``notify.staff_alert_address``): the first alert pass over
     every open incident, and, after the run that records its alerts, a run with nothing new,

mailtriage runs as an installed package does, its compiled modules cached (a set
``PYTHONDONTWRITEBYTECODE`` is dropped for it: otherwise every run compiles every module it
imports, about 0.07 s of a run with nothing new), sampling the resident memory of each
command's whole process tree (sum of RSS over the tree at
every sample, every 20 ms) and printing a table, the ratio (mbsync seconds / mailtriage seconds:
1.0 or more means the whole triage keeps pace with a plain download) and one JSON line.
After the timed runs (unless ``--no-floor``) it runs ``bench_stages.py`` over up to 1,000 of the
same mails: the CPU per mail of parsing, the model and the rules, which no triage can skip,
spread over all cores, gives the highest ratio this machine could reach on the day.

Run: python bench/bench_pipeline.py [--n 1000] [--database URL] [--tls] [--keep] [--no-floor]
                                   [--smtp-delay-ms MS]
``--smtp-delay-ms`` sends the replies over SMTP to a server on 127.0.0.1 that answers each EHLO
and each message after MS milliseconds, as a smarthost across a network would, instead of to
files.
PostgreSQL: --database postgresql+psycopg://postgres@127.0.0.1:5432/mailtriage_bench (created,
or dropped and created again when its name starts with ``mailtriage_bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import imaplib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers.dovecot import DovecotServer, _accounts, start_dovecot  # noqa: E402

MBSYNC = "/usr/bin/mbsync"
HELPDESK = "helpdesk@webbureau.example"
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)

# ------------------------------------------------------------------------------------------------
# Generated mail

MAILERS = ["Microsoft Outlook 16.0", "Apple Mail (2.3731)", "Thunderbird 128.3"]
NL_OPENERS = ["Beste helpdesk,", "Hallo,", "Goedemorgen,", "Beste collega's,", "Hoi team,"]
EN_OPENERS = ["Dear helpdesk,", "Hello,", "Good morning,", "Hi team,", "Dear support,"]
NL_SUBJECTS = [
    "Webshop geeft foutmelding bij afrekenen", "Contactformulier verstuurt niets meer",
    "Graag een extra pagina voor onze vacatures", "Website is traag sinds de update",
    "Inloggen in het CMS lukt niet", "Nieuwe huisstijl doorvoeren op de site",
    "SSL-certificaat verlopen?", "Vraag over de factuur van maart",
    "Productfilter werkt niet op mobiel", "Wijziging openingstijden op de homepage",
    "Nieuwsbriefkoppeling met Mailchimp stuk", "Afbeeldingen laden niet",
]
EN_SUBJECTS = [
    "Checkout page throws an error", "Contact form no longer sends",
    "Please add a careers page", "Site slow since the last deploy",
    "Cannot log in to the CMS", "Roll out the new brand colours",
    "Certificate expired?", "Question about the March invoice",
    "Product filter broken on mobile", "Change opening hours on the home page",
    "Newsletter integration broken", "Images do not load",
]
NL_LINES = [
    "Sinds vanochtend krijgen klanten een witte pagina na het kiezen van iDEAL.",
    "Kunnen jullie hier vandaag nog naar kijken? Het kost ons omzet.",
    "Het lijkt te gebeuren sinds de laatste update van vorige week.",
    "Ik heb het geprobeerd in Chrome en Firefox, in beide browsers hetzelfde probleem.",
    "Graag ontvangen we een offerte voor deze aanpassing.",
    "Er is geen haast bij, volgende maand is prima.",
    "In de bijlage een schermafdruk van de melding.",
    "Onze klanten bellen er inmiddels over, dus het is wel dringend.",
    "De tekst voor de nieuwe pagina sturen we later deze week.",
    "Alvast bedankt voor de moeite en de snelle reactie.",
]
EN_LINES = [
    "Since this morning customers get a blank page after choosing their payment method.",
    "Could you look into this today? It is costing us sales.",
    "It seems to have started with last week's update.",
    "I tried Chrome and Firefox and both show the same problem.",
    "Please send us a quote for this change.",
    "There is no rush, next month is fine.",
    "Attached is a screenshot of the message.",
    "Customers have started calling about it, so it is rather urgent.",
    "We will send the copy for the new page later this week.",
    "Thanks in advance for your help and quick reply.",
]


@dataclass
class Sent:
    message_id: str
    subject: str
    sender: str
    name: str
    language: str
    text: str


def _received(rng: random.Random, at: datetime) -> str:
    hops = []
    for hop in range(rng.randint(2, 5)):
        hops.append(f"Received: from mx{hop}.relay.example (mx{hop}.relay.example "
                    f"[198.51.100.{rng.randint(1, 254)}])\r\n\tby mx.webbureau.example with ESMTPS"
                    f" id {rng.getrandbits(64):016x}\r\n\tfor <{HELPDESK}>; "
                    f"{format_datetime(at)}\r\n")
    return "".join(hops)


def _dkim(rng: random.Random, domain: str) -> str:
    sig = base64.b64encode(rng.randbytes(256)).decode()
    body_hash = base64.b64encode(rng.randbytes(32)).decode()
    folded = "\r\n\t ".join(sig[i:i + 70] for i in range(0, len(sig), 70))
    return (f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=sel1;\r\n"
            f"\th=from:to:subject:date:message-id; bh={body_hash};\r\n\tb={folded}\r\n")


def _body_text(rng: random.Random, language: str, opener: bool = True) -> str:
    lines = NL_LINES if language == "nl" else EN_LINES
    paragraphs = []
    for _ in range(rng.choice([3, 4, 5, 6, 6, 8, 10, 14])):
        paragraphs.append(" ".join(rng.choice(lines) for _ in range(rng.randint(2, 5))))
    head = rng.choice(NL_OPENERS if language == "nl" else EN_OPENERS) + "\n\n" if opener else ""
    return head + "\n\n".join(paragraphs)


def _signature(name: str, company: str, language: str) -> str:
    greet = "Met vriendelijke groet," if language == "nl" else "Kind regards,"
    return (f"\n\n{greet}\n{name}\n{company}\nTel. 020-{random.randint(1000000, 9999999)}\n"
            "Deze e-mail is uitsluitend bestemd voor de geadresseerde.\n")


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines())


def _html(text: str) -> str:
    paragraphs = "".join(f"<p style=\"margin:0 0 8px 0;font-family:Arial\">{p}</p>"
                         for p in text.split("\n\n"))
    return ("<html><head><meta charset=\"utf-8\"><style>p{color:#222}</style></head>"
            f"<body><div class=\"WordSection1\">{paragraphs}</div></body></html>")


def _qp_or_8bit(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def _attachment(rng: random.Random, size: int, boundary: str) -> bytes:
    kind = rng.choice([("image/png", "schermafdruk.png"), ("application/pdf", "offerte.pdf"),
                       ("image/jpeg", "foto.jpg"), ("application/zip", "logs.zip")])
    payload = base64.encodebytes(rng.randbytes(size)).replace(b"\n", b"\r\n")
    return (f"--{boundary}\r\nContent-Type: {kind[0]}; name=\"{kind[1]}\"\r\n"
            f"Content-Disposition: attachment; filename=\"{kind[1]}\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n").encode() + payload


def generate(n: int, seed: int = 20260302) -> list[tuple[bytes, datetime]]:
    """N mails with their arrival times, deterministic for a seed."""
    rng = random.Random(seed)
    random.seed(seed)
    customers = []
    for k in range(max(40, n // 6)):
        language = "nl" if rng.random() < 0.65 else "en"
        domain = f"klant{k}.nl" if language == "nl" else f"client{k}.example.com"
        first = rng.choice(["Jan", "Sanne", "Pieter", "Fleur", "Emma", "Daan", "Noah", "Lotte",
                            "Mark", "Ruth", "Olivia", "James"])
        last = rng.choice(["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer",
                           "Brown", "Taylor", "Wilson", "Mulder"])
        customers.append((f"{first.lower()}.{last.split()[-1].lower()}@{domain}",
                          f"{first} {last}", language, domain))
    sent: list[Sent] = []
    out: list[tuple[bytes, datetime]] = []
    at = START
    for i in range(n):
        at += timedelta(seconds=rng.randint(20, 400))
        roll = rng.random()
        if sent and roll < 0.03:
            out.append((_out_of_office(rng, i, at, rng.choice(sent[-200:])), at))
            continue
        addr, name, language, domain = rng.choice(customers)
        parent = rng.choice(sent[-300:]) if sent and roll < 0.15 else None
        if parent is not None:
            addr, name, language, domain = parent.sender, parent.name, parent.language, \
                parent.sender.split("@")[1]
            subject = ("Re: " if language == "en" else rng.choice(["Re: ", "RE: ", "Antw: "])) \
                + parent.subject
        else:
            subject = rng.choice(NL_SUBJECTS if language == "nl" else EN_SUBJECTS)
        message_id = f"<{rng.getrandbits(96):024x}.{i}@{domain}>"
        text = _body_text(rng, language) + _signature(name, domain.split(".")[0].title(),
                                                      language)
        if parent is not None:
            text += f"\n\nOp {format_datetime(at - timedelta(hours=1))} schreef {parent.name}:\n" \
                + _quote(parent.text)
        head = _received(rng, at) + _dkim(rng, domain) + (
            f"From: {name} <{addr}>\r\nTo: Helpdesk <{HELPDESK}>\r\n"
            f"Subject: {subject}\r\nDate: {format_datetime(at)}\r\n"
            f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
            f"X-Mailer: {rng.choice(MAILERS)}\r\n")
        if parent is not None:
            head += f"In-Reply-To: {parent.message_id}\r\nReferences: {parent.message_id}\r\n"
        if rng.random() < 0.3:
            head += f"Cc: {rng.choice(customers)[0]}\r\n"
        big = rng.random()
        attach = 0
        if big < 0.018:
            attach = rng.randint(740_000, 1_050_000)
        elif big < 0.035:
            attach = rng.randint(60_000, 500_000)
        elif big < 0.08:
            attach = rng.randint(4_000, 40_000)
        style = rng.random()
        if attach:
            body = _mixed(rng, text, attach, style < 0.5)
        elif style < 0.45:
            body = (b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit"
                    b"\r\n\r\n" + _qp_or_8bit(text))
        elif style < 0.65:
            body = (b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit"
                    b"\r\n\r\n" + _qp_or_8bit(_html(text)))
        else:
            body = _alternative(rng, text)
        out.append((head.encode() + body, at))
        sent.append(Sent(message_id, subject.removeprefix("Re: "), addr, name, language,
                         text[:1500]))
    return out


def _alternative(rng: random.Random, text: str) -> bytes:
    b = f"alt{rng.getrandbits(48):012x}"
    return (f"Content-Type: multipart/alternative; boundary=\"{b}\"\r\n\r\n--{b}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            ).encode() + _qp_or_8bit(text) + (
            f"\r\n--{b}\r\nContent-Type: text/html; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + _qp_or_8bit(_html(text)) + \
        f"\r\n--{b}--\r\n".encode()


def _mixed(rng: random.Random, text: str, attach: int, with_html: bool) -> bytes:
    b = f"mix{rng.getrandbits(48):012x}"
    first = _alternative(rng, text) if with_html else (
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + _qp_or_8bit(text))
    return (f"Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n--{b}\r\n").encode() + \
        first + b"\r\n" + _attachment(rng, attach, b) + f"\r\n--{b}--\r\n".encode()


def _out_of_office(rng: random.Random, i: int, at: datetime, parent: Sent) -> bytes:
    nl = parent.language == "nl"
    subject = ("Afwezigheidsbericht: " if nl else "Out of Office: ") + parent.subject
    text = ("Ik ben tot en met maandag afwezig en lees mijn e-mail niet. Voor dringende zaken "
            "kunt u bellen met 020-1234567." if nl else
            "I am out of the office until Monday with no access to e-mail. For urgent matters "
            "please call +31 20 1234567.")
    domain = parent.sender.split("@")[1]
    head = _received(rng, at) + (
        f"From: {parent.name} <{parent.sender}>\r\nTo: Helpdesk <{HELPDESK}>\r\n"
        f"Subject: {subject}\r\nDate: {format_datetime(at)}\r\n"
        f"Message-ID: <ooo{rng.getrandbits(64):016x}.{i}@{domain}>\r\n"
        f"In-Reply-To: {parent.message_id}\r\nAuto-Submitted: auto-replied\r\n"
        "X-Auto-Response-Suppress: All\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
    return head.encode() + _qp_or_8bit(text)


def load_maildir(server: DovecotServer, user: str, mails: list[tuple[bytes, datetime]]) -> None:
    """Write the mails into the user's Maildir (cur/, names sorted by arrival) before Dovecot
    ever looks at it, so Dovecot gives them UIDs in that order."""
    uid, gid, _ = _accounts()
    maildir = server.maildir(user)
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    base = int(START.timestamp())
    for i, (data, at) in enumerate(mails):
        path = maildir / "cur" / f"{base + i}.M{i:06d}P1.bench,S={len(data)}:2,"
        path.write_bytes(data)
        stamp = at.timestamp()
        os.utime(path, (stamp, stamp))
    for dirpath, _dirs, files in os.walk(server.base / "home" / user):
        os.chown(dirpath, uid, gid)
        for name in files:
            os.chown(os.path.join(dirpath, name), uid, gid)


def index_mailbox(server: DovecotServer, user: str, password: str) -> int:
    """Let Dovecot index the folder (outside any timing); returns the number of messages."""
    conn = imaplib.IMAP4(server.host, server.imap_port)
    conn.login(user, password)
    _status, data = conn.select("INBOX", readonly=True)
    count = int(data[0])
    if count:
        conn.fetch("1:*", "(UID RFC822.SIZE INTERNALDATE)")
    conn.logout()
    return count


# ------------------------------------------------------------------------------------------------
# Timing and memory of a process tree


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(root: int, each: dict[int, int] | None = None) -> tuple[int, int]:
    """(sum of RSS over ``root`` and all its descendants, number of processes); the highest
    RSS seen per process is kept in ``each`` when given."""
    kids = _children()
    todo, total, count = [root], 0, 0
    while todo:
        pid = todo.pop()
        rss = _rss_kb(pid)
        total += rss
        count += 1
        if each is not None and rss > each.get(pid, 0):
            each[pid] = rss
        todo.extend(kids.get(pid, ()))
    return total, count


@dataclass
class Timed:
    seconds: float
    peak_mb: float
    peak_processes: int
    process_peaks_mb: list[float]
    returncode: int
    stdout: str
    stderr: str


def timed(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Timed:
    peak = [0, 0]
    each: dict[int, int] = {}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            cwd=cwd)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss, count = tree_rss_kb(proc.pid, each)
            if rss > peak[0]:
                peak[0] = rss
            peak[1] = max(peak[1], count)
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    per_process = sorted((round(kb / 1024, 1) for kb in each.values()), reverse=True)
    return Timed(elapsed, peak[0] / 1024, peak[1], per_process, proc.returncode,
                 out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


# ------------------------------------------------------------------------------------------------
# The two contenders


MBSYNCRC = """\
IMAPAccount bench
Host {host}
Port {port}
User {user}
Pass {password}
SSLType {ssl}
{cafile}
AuthMechs LOGIN

IMAPStore bench-remote
Account bench

MaildirStore bench-local
Path {local}/
Inbox {local}/INBOX

Channel bench
Far :bench-remote:
Near :bench-local:
Patterns INBOX
Create Near
SyncState *
"""


def run_mbsync(server: DovecotServer, user: str, password: str, work: Path, tls: bool) -> Timed:
    local = work / "mbsync-maildir"
    local.mkdir()
    rc = work / "mbsyncrc"
    rc.write_text(MBSYNCRC.format(
        host=server.host, port=server.imaps_port if tls else server.imap_port, user=user,
        password=password, ssl="IMAPS" if tls else "None", local=local,
        cafile=f"CertificateFile {server.cafile}" if tls else "# plain IMAP on loopback"))
    result = timed([MBSYNC, "-c", str(rc), "-q", "bench"])
    if result.returncode != 0:
        raise SystemExit(f"mbsync failed ({result.returncode}): {result.stderr[-2000:]}")
    got = sum(1 for _ in (local / "INBOX" / "cur").iterdir()) + \
        sum(1 for _ in (local / "INBOX" / "new").iterdir())
    result.stdout = f"{got} mails downloaded"
    return result


CONFIG = """\
[database]
url = "{url}"

[storage]
directory = "{work}/files"

[[mailbox]]
name = "helpdesk"
kind = "imap"
host = "{host}"
port = {port}
security = "{security}"
{cafile}
username = "{user}"
password = "{password}"
folder = "INBOX"
processed_action = "flag"

[smtp]
{smtp}
from_address = "{helpdesk}"
from_name = "Helpdesk Webbureau"

[notify]
# The generated mail is dated from March 2026: without this, the default age limit for
# automatic replies would skip every acknowledgement and the bench would not measure sending.
reply_max_age_hours = 0

[classify]
model_dir = "{work}/model"

[run]
lock_file = "{work}/mailtriage.lock"
"""


def mailtriage_config(server: DovecotServer, user: str, password: str, work: Path, url: str,
                      tls: bool, smtp_port: int | None = None) -> Path:
    path = work / "mailtriage.toml"
    smtp = (f'transport = "smtp"\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"'
            if smtp_port else f'transport = "file"\ndirectory = "{work}/outbox"')
    path.write_text(CONFIG.format(
        url=url, work=work, host=server.host, smtp=smtp,
        port=server.imaps_port if tls else server.imap_port,
        security="tls" if tls else "none",
        cafile=f'ca_file = "{server.cafile}"' if tls else "", user=user, password=password,
        helpdesk=HELPDESK))
    return path


def mailtriage(config: Path, *args: str, python_flags: tuple[str, ...] = ()) -> Timed:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return timed([sys.executable, *python_flags, "-m", "mailtriage", "--config", str(config),
                  *args], env=env, cwd=config.parent)


def fresh_postgres(url: str) -> None:
    """Create the database named in ``url``; drop it first when it is a bench database."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    name = target.database or ""
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": name}).first()
        if exists and name.startswith("mailtriage_bench"):
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = None
        if exists:
            raise SystemExit(f"database {name} exists; give a new name or one starting with "
                             "mailtriage_bench (those are dropped and made again)")
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def count_rows(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        out = {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
               for t in ("messages", "tickets", "quarantine", "outbox")}
        out["outbox_sent"] = int(conn.execute(text(
            "SELECT count(*) FROM outbox WHERE status = 'sent'")).scalar_one())
    engine.dispose()
    return out


HEAVY = ("sklearn", "mailparser", "jinja2", "argon2", "rich", "multiprocessing")


def heavy_imports(importtime: str) -> list[str]:
    found = set()
    for line in importtime.splitlines():
        if not line.startswith("import time:"):
            continue
        name = line.rsplit("|", 1)[-1].strip()
        top = name.split(".")[0]
        if top in HEAVY:
            found.add(top)
    return sorted(found)


class SlowSmtp:
    """An SMTP server on 127.0.0.1 that answers each EHLO and each message's DATA after
    ``delay`` seconds, as a smarthost across a network does (a session's greeting, TLS and
    login; a message's round trips)."""

    def __init__(self, delay: float) -> None:
        from aiosmtpd.controller import Controller

        from tests.servers.smtp import free_port

        self.delay = delay
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_EHLO(self, server: object, session: Any, envelope: object,
                          hostname: str, responses: list[str]) -> list[str]:
        await asyncio.sleep(self.delay)
        session.host_name = hostname  # what the server's own EHLO handling would record
        return responses

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        await asyncio.sleep(self.delay)
        return "250 accepted"

    def stop(self) -> None:
        self.controller.stop()


def cpu_floor(n: int) -> dict[str, float]:
    """``bench_stages.py`` over up to 1,000 of the same generated mails, after the timed runs:
    the CPU per mail of parsing, the model and the rules, which no triage can skip."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_stages.py"), "--n", str(min(n, 1000))],
        capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of mails (default 1000)")
    parser.add_argument("--database", default=None,
                        help="SQLAlchemy URL (default: a fresh SQLite file in the work dir)")
    parser.add_argument("--tls", action="store_true", help="both clients over IMAPS")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--workers", default=None, help="passed to mailtriage run --workers")
    parser.add_argument("--smtp-delay-ms", type=float, default=None,
                        help="send replies over SMTP to a loopback server that answers each "
                             "EHLO and each message after this many milliseconds (default: "
                             "file transport)")
    parser.add_argument("--no-floor", action="store_true",
                        help="skip measuring the CPU floor (bench_stages.py) after the runs")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mailtriage-bench-"))
    server = start_dovecot()
    smtp = SlowSmtp(args.smtp_delay_ms / 1000) if args.smtp_delay_ms is not None else None
    try:
        user, password = server.add_user()
        t0 = time.perf_counter()
        mails = generate(args.n)
        sizes = sorted(len(m) for m, _ in mails)
        load_maildir(server, user, mails)
        del mails
        count = index_mailbox(server, user, password)
        if count != args.n:
            raise SystemExit(f"Dovecot sees {count} mails, expected {args.n}")
        p99 = sizes[min(len(sizes) - 1, int(len(sizes) * 0.99))]
        print(f"loaded {count} mails ({sum(sizes) / 1e6:.1f} MB, median "
              f"{statistics.median(sizes) / 1024:.1f} KB, p99 {p99 / 1024:.0f} KB, max "
              f"{sizes[-1] / 1024:.0f} KB) in {time.perf_counter() - t0:.1f} s", flush=True)

        sync = run_mbsync(server, user, password, work, args.tls)
        print(f"mbsync: {sync.seconds:.2f} s, {sync.stdout}", flush=True)

        url = args.database or f"sqlite:///{work}/mailtriage.db"
        if url.startswith("postgresql"):
            fresh_postgres(url)
        config = mailtriage_config(server, user, password, work, url, args.tls,
                                   smtp.port if smtp else None)
        init = mailtriage(config, "init")
        if init.returncode != 0:
            raise SystemExit(f"mailtriage init failed: {init.stderr[-2000:]}")
        extra = ("--workers", args.workers) if args.workers is not None else ()
        first = mailtriage(config, "run", "--quiet", *extra)
        if first.returncode not in (0, 1):
            raise SystemExit(f"mailtriage run failed ({first.returncode}): "
                             f"{first.stderr[-3000:]}")
        rows = count_rows(url)
        if rows["messages"] + rows["quarantine"] != args.n:
            print(f"warning: {args.n} mails in, {rows} stored; the run said:\n"
                  f"{first.stdout[-3000:]}{first.stderr[-3000:]}", flush=True)
        print(f"mailtriage run: {first.seconds:.2f} s (exit {first.returncode}), rows {rows}",
              flush=True)
        idle = mailtriage(config, "run", "--quiet", *extra)
        idle_imports = mailtriage(config, "run", "--quiet", *extra,
                                  python_flags=("-X", "importtime"))
        heavy = heavy_imports(idle_imports.stderr)
        if idle.returncode not in (0, 1):
            raise SystemExit(f"idle run failed: {idle.stderr[-2000:]}")
        if count_rows(url)["messages"] != rows["messages"]:
            raise SystemExit("the idle run stored mail again")
        # The same mailbox with staff alerts configured: the first run's alert pass reads the
        # clocks of every open incident; the one after it records its alerts' events, so it
        # passes once more; from then on a run with nothing new rests on the alert watch.
        alerts_config = config.with_name("mailtriage-alerts.toml")
        alerts_config.write_text(config.read_text().replace(
            "[notify]\n", '[notify]\nstaff_alert_address = "staff@webbureau.example"\n', 1))
        alerts_pass = mailtriage(alerts_config, "run", "--quiet", *extra)
        mailtriage(alerts_config, "run", "--quiet", *extra)
        alerts_idle = mailtriage(alerts_config, "run", "--quiet", *extra)
        alerts_heavy = heavy_imports(mailtriage(alerts_config, "run", "--quiet", *extra,
                                                python_flags=("-X", "importtime")).stderr)
        if alerts_pass.returncode not in (0, 1) or alerts_idle.returncode not in (0, 1):
            raise SystemExit(f"run with alerts failed: {alerts_pass.stderr[-2000:]}"
                             f"{alerts_idle.stderr[-2000:]}")
    finally:
        if smtp is not None:
            smtp.stop()
        server.stop()
        shutil.rmtree(server.base, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    n = args.n
    ratio = sync.seconds / first.seconds
    floor = None if args.no_floor else cpu_floor(n)
    cores = os.cpu_count() or 1
    floor_s = floor["cpu_ms_per_mail"] * n / 1000 / cores if floor else None
    ceiling = sync.seconds / floor_s if floor_s else None
    dialect = url.split(":", 1)[0].split("+", 1)[0]
    print()
    replies = ("to files" if smtp is None
               else f"over SMTP, {args.smtp_delay_ms:g} ms per EHLO and per message")
    print(f"{n} mails over {'IMAPS' if args.tls else 'plain IMAP'} on loopback, {dialect}, "
          f"{os.cpu_count()} cores, replies {replies}")
    print(f"{'':28} {'seconds':>9} {'mails/s':>9} {'peak MB':>9} {'procs':>6}")
    print(f"{'mbsync download':28} {sync.seconds:9.2f} {n / sync.seconds:9.0f} "
          f"{sync.peak_mb:9.0f} {sync.peak_processes:6d}")
    print(f"{'mailtriage run (all new)':28} {first.seconds:9.2f} {n / first.seconds:9.0f} "
          f"{first.peak_mb:9.0f} {first.peak_processes:6d}")
    print(f"{'mailtriage run (nothing new)':28} {idle.seconds:9.2f} {'':>9} "
          f"{idle.peak_mb:9.0f} {idle.peak_processes:6d}")
    print(f"{'first alert pass':28} {alerts_pass.seconds:9.2f} {'':>9} "
          f"{alerts_pass.peak_mb:9.0f} {alerts_pass.peak_processes:6d}")
    print(f"{'nothing new, alerts on':28} {alerts_idle.seconds:9.2f} {'':>9} "
          f"{alerts_idle.peak_mb:9.0f} {alerts_idle.peak_processes:6d}")
    print(f"ratio mbsync/mailtriage: {ratio:.2f} (>= 1.0: triage keeps pace with the download)")
    if floor is not None and floor_s is not None and ceiling is not None:
        print(f"CPU floor: parsing, model and rules alone take {floor['cpu_ms_per_mail']:.2f} ms "
              f"of CPU per mail (parse {floor['parse_ms']:.2f}), at least {floor_s:.1f} s for "
              f"{n} mails on {cores} cores with nothing fetched, stored or sent: the ratio "
              f"can be at most {ceiling:.2f} on this machine today")
    print(f"heavy modules imported by the idle run: {', '.join(heavy) or 'none'}; with "
          f"alerts on: {', '.join(alerts_heavy) or 'none'}")
    if args.keep:
        print(f"work directory kept: {work}")
    print(json.dumps({
        "n": n, "database": dialect, "tls": args.tls, "cores": os.cpu_count(),
        "smtp_delay_ms": args.smtp_delay_ms,
        "median_kb": round(statistics.median(sizes) / 1024, 1), "p99_kb": round(p99 / 1024),
        "mbsync_s": round(sync.seconds, 3), "mbsync_peak_mb": round(sync.peak_mb, 1),
        "run_s": round(first.seconds, 3), "run_peak_mb": round(first.peak_mb, 1),
        "run_process_peaks_mb": first.process_peaks_mb,
        "run_processes": first.peak_processes, "ratio": round(ratio, 3),
        "idle_s": round(idle.seconds, 3), "idle_peak_mb": round(idle.peak_mb, 1),
        "idle_heavy_imports": heavy, "alerts_pass_s": round(alerts_pass.seconds, 3),
        "alerts_idle_s": round(alerts_idle.seconds, 3),
        "alerts_idle_heavy_imports": alerts_heavy, "rows": rows, "exit": first.returncode,
        "floor_cpu_ms_per_mail": floor["cpu_ms_per_mail"] if floor else None,
        "floor_s": round(floor_s, 3) if floor_s is not None else None,
        "ratio_ceiling": round(ceiling, 3) if ceiling is not None else None,
    }))


if __name__ == "__main__":
    main()
