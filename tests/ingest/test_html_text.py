"""html_to_text: visible text only; hostile HTML never leaks script or style content."""

from __future__ import annotations

import time

import pytest

from mailtriage.ingest.html_text import html_to_text


@pytest.mark.parametrize("html, expected", [
    ("<p>Hallo</p><p>Wereld</p>", "Hallo\n\nWereld"),
    ("Regel 1<br>Regel 2<br/>Regel 3", "Regel 1\nRegel 2\nRegel 3"),
    ("<ul><li>een</li><li>twee</li></ul>", "- een\n- twee"),
    ("<b>Vet</b> &amp; <i>schuin</i> &euro;10 &#8364;", "Vet & schuin €10 €"),
    ("<a href='https://x.nl'>klik hier</a>", "klik hier"),
    ("<pre>  a\n  b</pre>", "a\nb"),  # line breaks kept; every line is stripped
    ("<html><head><title>Titel</title></head><body>Inhoud</body></html>", "Inhoud"),
    ("<head><meta charset=utf-8><body>zonder sluit-head</body>", "zonder sluit-head"),
    ("<table><tr><td>a</td><td>b</td></tr></table>", "a b"),
    ("", ""),
])
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


HOSTILE = [
    "<script>alert('GEHEIM1')</script>zichtbaar",
    "<style>body{background:url(GEHEIM1)}</style>zichtbaar",
    "<SCRIPT type=text/javascript>var GEHEIM1=1;</SCRIPT>zichtbaar",
    "zichtbaar<script>document.write('GEHEIM1')",  # never closed
    "<svg onload=alert(1)><script>GEHEIM1</script><text>GEHEIM1</text></svg>zichtbaar",
    "<img src=x onerror=\"alert('GEHEIM1')\">zichtbaar",
    "<a href=\"javascript:alert('GEHEIM1')\">zichtbaar</a>",
    "<noscript>GEHEIM1</noscript><template>GEHEIM1</template>zichtbaar",
    "<iframe src=//evil>GEHEIM1</iframe><object>GEHEIM1</object>zichtbaar",
    "<!-- GEHEIM1 -->zichtbaar",
    "<base href=//evil><meta http-equiv=refresh content='0;url=//GEHEIM1'>zichtbaar",
    "<script>if (a<b && c>d) { GEHEIM1(); }</script>zichtbaar",
    "zichtbaar\x00<scr\x00ipt>GEHEIM1</script>",
]


@pytest.mark.parametrize("html", HOSTILE)
def test_hostile_html_never_leaks_hidden_content(html: str) -> None:
    text = html_to_text(html)
    assert "GEHEIM1" not in text
    assert "zichtbaar" in text
    assert "alert" not in text and "<" not in text


def test_large_html_is_fast() -> None:
    html = "<div>abc <b>def</b> ghi</div>" * 35_000  # about 1 MB
    start = time.perf_counter()
    text = html_to_text(html)
    assert time.perf_counter() - start < 2.0
    assert text.count("abc def ghi") == 35_000
