"""Address checks used before anything is written into a header or an envelope."""

from __future__ import annotations

import pytest

from mailtriage.notify.address import address_problem, normalize_address, strip_controls


@pytest.mark.parametrize(("addr", "expected"), [
    ("jan@klant.nl", "jan@klant.nl"),
    ("Jan.Jansen+hd@Klant.NL", "Jan.Jansen+hd@klant.nl"),
    ("jan@bücher.test", "jan@xn--bcher-kva.test"),
    ("jan@klant.nl.", "jan@klant.nl"),
    ("jan", None), ("jan@", None), ("@klant.nl", None), ("a@b@c.nl", None),
    ("jan @klant.nl", None), ("jan@klant..nl", None), ("jän@klant.nl", None),
    ("jan@klant.nl\r\n", None), ("<jan@klant.nl>", None), ("jan@-klant.nl", None),
    ("x" * 65 + "@klant.nl", None), ("j@" + "a" * 250 + ".nl", None), ("", None),
])
def test_normalize_address(addr: str, expected: str | None) -> None:
    assert normalize_address(addr) == expected


def test_address_problem_names_the_injection() -> None:
    assert address_problem("jan@klant.nl", "Jan") is None
    assert "injection" in (address_problem("jan@klant.nl", "Jan\r\nBcc: x") or "")
    assert "injection" in (address_problem("jan@klant.nl\n", "Jan") or "")
    assert "not a valid" in (address_problem("jan", "Jan") or "")


def test_strip_controls() -> None:
    assert strip_controls("a\r\nb\tc\x00d\x7fe\u2028f  g") == "a b c d e f g"
