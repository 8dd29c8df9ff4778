"""open_transport picks the transport named in the configuration."""

from __future__ import annotations

from pathlib import Path

from mailtriage.config import SmtpConfig
from mailtriage.errors import TemporaryDeliveryError, UncertainDeliveryError
from mailtriage.notify.filedrop import FileTransport
from mailtriage.notify.smtp import SmtpTransport
from mailtriage.notify.transport import open_transport
from tests.servers.smtp import SmtpTestServer


def test_file_transport_by_default(tmp_path: Path) -> None:
    transport = open_transport(SmtpConfig(directory=tmp_path))
    assert isinstance(transport, FileTransport)
    assert transport.directory == tmp_path


def test_smtp_transport_delivers(smtp_server: SmtpTestServer) -> None:
    transport = open_transport(smtp_server.smtp_config())
    assert isinstance(transport, SmtpTransport)
    transport.send(b"Subject: hi\r\nMessage-ID: <a@b.test>\r\n\r\nhoi\r\n", "", ["j@klant.nl"])
    assert smtp_server.wait_for(1)[0].rcpt_tos == ["j@klant.nl"]


def test_uncertain_is_a_temporary_error_the_outbox_can_tell_apart() -> None:
    assert issubclass(UncertainDeliveryError, TemporaryDeliveryError)
