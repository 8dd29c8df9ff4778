"""Throughput of the notify path: render + compose per second, and SMTP hand-over to a loopback
aiosmtpd server (one connection per message). Run: python bench/bench_notify.py"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for the tests' SMTP rig

from mailtriage.ingest.message import Address
from mailtriage.notify.compose import OutgoingMail, compose_message, new_message_id
from mailtriage.notify.context import AckContext
from mailtriage.notify.render import render_ack
from mailtriage.notify.smtp import SmtpTransport
from tests.servers.smtp import make_certificates, start_server, stop_server

AMS = ZoneInfo("Europe/Amsterdam")


def build(i: int) -> bytes:
    ctx = AckContext(1000 + i, f"Website geeft foutmelding {i}", "nl", "incident", "Helpdesk",
                     datetime(2025, 3, 14, 16, 30, tzinfo=AMS), priority="high",
                     response_due=datetime(2025, 3, 17, 10, tzinfo=AMS),
                     resolution_due=datetime(2025, 3, 17, 12, tzinfo=AMS), guaranteed=True)
    mail = render_ack(ctx)
    message_id, _ = new_message_id("example.test")
    return compose_message(OutgoingMail(Address("helpdesk@example.test", "Helpdesk"),
                                        Address("jan@klant.nl", "Jan"), mail.subject, mail.text,
                                        mail.html, message_id, datetime.now(UTC)))


def main() -> None:
    n = 2000
    started = time.perf_counter()
    messages = [build(i) for i in range(n)]
    elapsed = time.perf_counter() - started
    print(f"render+compose: {n} messages in {elapsed:.2f} s = {n / elapsed:.0f}/s, "
          f"{sum(map(len, messages)) / n:.0f} bytes each")
    with TemporaryDirectory() as tmp:
        certs = make_certificates(Path(tmp))
        for security in ("none", "starttls", "tls"):
            server = start_server(certs, security)  # type: ignore[arg-type]
            transport = SmtpTransport(server.smtp_config())
            k = 200
            started = time.perf_counter()
            for data in messages[:k]:
                transport.send(data, "", ["jan@klant.nl"])
            elapsed = time.perf_counter() - started
            stop_server(server)
            print(f"SMTP {security:8s}: {k} messages in {elapsed:.2f} s = {k / elapsed:.0f}/s")


if __name__ == "__main__":
    main()
