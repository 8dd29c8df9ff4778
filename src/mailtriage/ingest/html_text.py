"""Turns the HTML of a mail into readable text; script, style and hidden content never appear.

The stdlib ``html.parser`` tokenizer is forgiving with broken markup and runs in linear time. Block
elements become line breaks, list items get a dash, links keep their text only, and entities are
decoded. The result is for reading and classifying, never for rendering.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements whose content is never text a reader sees.
_HIDDEN = frozenset({
    "script", "style", "head", "title", "noscript", "template", "iframe", "object", "embed",
    "svg", "math", "textarea", "select", "applet", "frameset", "noembed", "noframes", "xml",
})
# Void elements never get an end tag, so they must not open a hidden region.
_VOID = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
})
_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody",
    "tfoot", "thead", "tr", "ul", "caption",
})
_SPACES = re.compile(r"[ \t\f\v\u00a0\u200b]+")
_BLANKS = re.compile(r"\n{3,}")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden: list[str] = []
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body" and "head" in self.hidden:
            # <body> closes an unclosed <head>; its content must not vanish with it.
            del self.hidden[self.hidden.index("head"):]
        if tag in _HIDDEN and tag not in _VOID:
            self.hidden.append(tag)
            return
        if self.hidden:
            return
        if tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append("\t")
        elif tag in _BLOCK:
            self.out.append("\n")
        if tag == "pre":
            self.pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <script/> and friends open nothing; <br/> is a line break.
        if (not self.hidden and tag == "br") or (not self.hidden and tag in _BLOCK):
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.hidden:
            if tag == self.hidden[-1]:
                self.hidden.pop()
            elif tag in self.hidden:
                while self.hidden and self.hidden.pop() != tag:
                    pass
            return
        if tag in _BLOCK and tag != "li":
            self.out.append("\n")
        if tag == "pre" and self.pre:
            self.pre -= 1

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.pre:
            self.out.append(data)
        else:
            self.out.append(data.replace("\r", " ").replace("\n", " "))


def html_to_text(html: str) -> str:
    """Readable text of ``html``: visible text only, one line per block, no markup."""
    collector = _TextCollector()
    try:
        collector.feed(html.replace("\x00", ""))
        collector.close()
    except (AssertionError, ValueError):  # very old html.parser quirks; keep what was collected
        pass
    text = "".join(collector.out)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()
