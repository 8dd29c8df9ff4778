"""The JSON API: bearer tokens, list, show, correct, and the OpenAPI schema."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from mailtriage.store.models import Correction, Ticket
from tests.web.conftest import Seeded, login


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/tickets"),
    ("GET", "/api/tickets/1001"),
    ("POST", "/api/tickets/1001/corrections"),
    ("GET", "/api/openapi.json"),
])
@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer not-a-token"},
    {"Authorization": "Basic YW5uYTpjb3JyZWN0"},
    {"Authorization": "Bearer "},
])
def test_refused_without_a_valid_token(client: TestClient, method: str, path: str,
                                       headers: dict[str, str]) -> None:
    response = client.request(method, path, headers=headers, json={"priority": "low"},
                              follow_redirects=False)
    if path == "/api/openapi.json":  # the schema also opens to a signed-in session
        assert response.status_code == 303
        return
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthorized"


def test_a_browser_session_is_not_an_api_credential(client: TestClient) -> None:
    login(client)
    assert client.get("/api/tickets").status_code == 401


def test_a_deactivated_account_token_is_refused(client: TestClient, seeded: Seeded) -> None:
    from sqlalchemy import update

    from mailtriage.store.models import User

    with seeded.db.session() as s:
        s.execute(update(User).values(active=False))
    assert client.get("/api/tickets", headers=bearer(seeded.token)).status_code == 401


def test_list_newest_first_with_contract_fields(client: TestClient, seeded: Seeded) -> None:
    response = client.get("/api/tickets", headers=bearer(seeded.token))
    assert response.status_code == 200
    rows = response.json()
    assert [r["number"] for r in rows] == [1001, 1003, 1005, 1006, 1002, 1004]
    first = rows[0]
    for key in ("id", "number", "subject", "requester", "type", "priority", "confidence",
                "needs_review", "received_at", "response_due", "resolution_due", "status"):
        assert key in first
    assert first["received_at"] == "2026-03-10T09:00:00+01:00"
    assert first["response_due"] == "2026-03-10T11:00:00+01:00"
    assert first["confidence"] == 0.92


@pytest.mark.parametrize(("query", "expected"), [
    ("type=incident", [1001, 1006, 1002, 1004]),
    ("priority=medium", [1006, 1002]),
    ("status=active", [1001, 1003, 1005, 1006, 1002]),
    ("status=resolved", [1004]),
    ("needs_review=true", [1003]),
    ("needs_review=false", [1001, 1005, 1006, 1002, 1004]),
    ("requester=acme", [1001, 1002, 1004]),
    ("limit=2", [1001, 1003]),
    ("limit=2&offset=2", [1005, 1006]),
])
def test_list_filters(client: TestClient, seeded: Seeded, query: str,
                      expected: list[int]) -> None:
    rows = client.get(f"/api/tickets?{query}", headers=bearer(seeded.token)).json()
    assert [r["number"] for r in rows] == expected


@pytest.mark.parametrize("query", ["limit=0", "limit=5000", "type=bug", "priority=urgent"])
def test_list_rejects_bad_parameters(client: TestClient, seeded: Seeded, query: str) -> None:
    response = client.get(f"/api/tickets?{query}", headers=bearer(seeded.token))
    assert response.status_code == 422
    assert response.json()["error"] == "invalid"


def test_show(client: TestClient, seeded: Seeded) -> None:
    response = client.get("/api/tickets/1002", headers=bearer(seeded.token))
    assert response.status_code == 200
    data = response.json()
    assert data["number"] == 1002
    assert data["messages"][0]["text"].startswith("Het contactformulier")
    assert data["messages"][0]["attachments"][0]["filename"] == "schermafbeelding.png"
    assert data["classifications"][0]["model_version"] == "2026.03.01-1"
    assert data["corrections"] == []


HOUR = 3600


@pytest.mark.parametrize(("number", "clocks"), [
    # medium, received Mon 09:00, unanswered at Tue 10:30: response (8 h) breached at Mon
    # 17:00; resolution (16 h) has used 10 h, 6 h left, due Tue 16:30
    (1002, {"response": ("breached", "2026-03-09T17:00:00+01:00", None, 10 * HOUR, 0),
            "resolution": ("running", "2026-03-10T16:30:00+01:00", None, 10 * HOUR,
                           6 * HOUR)}),
    # answered after 30 minutes, then waiting on the customer: the resolution clock is paused
    (1006, {"response": ("met", "2026-03-10T13:30:00+01:00", "2026-03-09T14:30:00+01:00",
                         HOUR // 2, 15 * HOUR // 2),
            "resolution": ("paused", None, None, HOUR // 2, 31 * HOUR // 2)}),
    # resolved Mon 15:00, well before its deadline
    (1004, {"response": ("met", None, "2026-03-06T11:00:00+01:00", None, None),
            "resolution": ("met", "2026-03-13T10:00:00+01:00", "2026-03-09T15:00:00+01:00",
                           None, None)}),
    # a change request and an "other" mail have no SLA clock
    (1003, None),
    (1005, None),
])
def test_show_has_both_sla_clocks_now(client: TestClient, seeded: Seeded, number: int,
                                      clocks: dict[str, tuple[Any, ...]] | None) -> None:
    data = client.get(f"/api/tickets/{number}", headers=bearer(seeded.token)).json()
    if clocks is None:
        assert data["clocks"] is None
        return
    assert data["clocks"]["at"] == "2026-03-10T10:30:00+01:00"
    for kind, (state, due, stopped, elapsed, remaining) in clocks.items():
        clock = data["clocks"][kind]
        assert clock["state"] == state, kind
        assert clock["stopped_at"] == stopped, kind
        if due is not None:
            assert clock["due"] == due, kind
        if elapsed is not None:
            assert (clock["elapsed_seconds"], clock["remaining_seconds"]) == (
                elapsed, remaining), kind
        assert clock["target_seconds"] > 0 and clock["flagged"] is False


def test_show_unknown(client: TestClient, seeded: Seeded) -> None:
    response = client.get("/api/tickets/424242", headers=bearer(seeded.token))
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_correct_priority_recomputes_deadlines_and_audits(client: TestClient,
                                                          seeded: Seeded) -> None:
    response = client.post("/api/tickets/1001/corrections", headers=bearer(seeded.token),
                           json={"priority": "medium", "note": "workaround via factuur"})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["ticket_number"] == 1001
    assert data["before"]["priority"] == "high" and data["after"]["priority"] == "medium"
    assert data["commitment_changed"] is True
    # received Tue 10 Mar 09:00; medium: 8 office hours -> Tue 17:00, 16 -> Wed 16:30
    assert data["ticket"]["response_due"] == "2026-03-10T17:00:00+01:00"
    assert data["ticket"]["resolution_due"] == "2026-03-11T16:30:00+01:00"
    with seeded.db.session() as s:
        (c,) = s.scalars(select(Correction)).all()
        assert (c.actor, c.note) == ("anna", "workaround via factuur")
        assert c.before["priority"] == "high" and c.after["priority"] == "medium"


def test_correct_status(client: TestClient, seeded: Seeded) -> None:
    response = client.post("/api/tickets/1002/corrections", headers=bearer(seeded.token),
                           json={"status": "waiting"})
    assert response.status_code == 200
    assert response.json()["ticket"]["status"] == "waiting"


@pytest.mark.parametrize(("body", "status"), [
    ({}, 400),                               # nothing to correct
    ({"note": "only a note"}, 400),          # the service needs a change
    ({"priority": "urgent"}, 422),
    ({"type": "bug"}, 422),
    ({"status": "deleted"}, 422),
    ({"type": "change", "priority": "high"}, 400),  # only incidents have a priority
    ({"note": "x" * 4001, "priority": "low"}, 422),
])
def test_correct_refuses_what_cannot_work(client: TestClient, seeded: Seeded,
                                          body: dict[str, str], status: int) -> None:
    response = client.post("/api/tickets/1001/corrections", headers=bearer(seeded.token),
                           json=body)
    assert response.status_code == status, response.text
    with seeded.db.session() as s:
        assert s.scalar(select(Ticket.priority).where(Ticket.number == 1001)) == "high"
        assert s.scalars(select(Correction)).all() == []


def test_correct_unknown_ticket(client: TestClient, seeded: Seeded) -> None:
    response = client.post("/api/tickets/424242/corrections", headers=bearer(seeded.token),
                           json={"priority": "low"})
    assert response.status_code == 404


def test_api_needs_no_csrf_token_but_a_bearer_token(client: TestClient, seeded: Seeded) -> None:
    # cookies are never an API credential, so a cross-site form cannot use the API
    login(client)
    response = client.post("/api/tickets/1001/corrections", json={"priority": "low"})
    assert response.status_code == 401


def test_openapi_schema(client: TestClient, seeded: Seeded) -> None:
    schema = client.get("/api/openapi.json", headers=bearer(seeded.token)).json()
    assert set(schema["paths"]) == {"/api/tickets", "/api/tickets/{number}",
                                    "/api/tickets/{number}/corrections"}
    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    assert "401" in schema["paths"]["/api/tickets"]["get"]["responses"]
