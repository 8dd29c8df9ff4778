"""The README's main job: `mailtriage run` on the embedded defaults, from a fresh directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def mailtriage(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MAILTRIAGE_CONFIG"}
    return subprocess.run([sys.executable, "-m", "mailtriage", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_sample_mailbox_end_to_end(tmp_path: Path) -> None:
    first = mailtriage(tmp_path, "run", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    [box] = report["mailboxes"]
    # what the sample's README table says: 33 new tickets, 2 follow-ups, 3 without a ticket
    assert box["fetched"] == 38
    assert box["outcomes"] == {"ticket": 33, "followup": 2, "ignored": 3}
    assert report["delivery"]["sent"] == 33
    assert len(list((tmp_path / "var" / "outbox").glob("*.eml"))) == 33

    listing = mailtriage(tmp_path, "tickets", "list", "--json")
    tickets = {t["number"]: t for t in json.loads(listing.stdout)}
    assert sorted(tickets) == list(range(1001, 1034))
    # the stranger quoting [#1001] got a ticket of their own, #1001 kept its requester
    assert tickets[1001]["requester"] == "marieke@bakkerij-jansen.example"
    assert "1001" in tickets[1024]["subject"]
    assert tickets[1024]["requester"] != tickets[1001]["requester"]
    # a guaranteed customer's high incident, received Thu 2 Apr 2026 09:12
    assert tickets[1001]["type"] == "incident" and tickets[1001]["priority"] == "high"
    assert tickets[1001]["sla"] == "guaranteed"
    assert tickets[1001]["response_due"] == "2026-04-02T11:12:41+02:00"
    assert tickets[1001]["resolution_due"] == "2026-04-02T13:12:41+02:00"

    again = mailtriage(tmp_path, "run", "--json")
    assert again.returncode == 0
    assert json.loads(again.stdout)["mailboxes"][0]["fetched"] == 0
    assert len(list((tmp_path / "var" / "outbox").glob("*.eml"))) == 33
