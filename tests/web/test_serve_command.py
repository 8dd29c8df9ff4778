"""``mailtriage serve`` starts uvicorn on the given address and serves the login page."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_command(tmp_path: Path) -> None:
    config = tmp_path / "mailtriage.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "m.db"}"\n'
                      '[web]\nsecret_key = "a-long-enough-test-secret-0123456789"\n')
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mailtriage", "--config", str(config),
                             "serve", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=False)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
        assert "server" not in response.headers
    finally:
        proc.terminate()
        proc.wait(10)
