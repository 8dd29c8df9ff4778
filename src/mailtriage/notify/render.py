"""Renders acknowledgements, updates and staff alerts from jinja2 templates, in Dutch or English.

Templates live in ``mailtriage/notify/templates/<language>/`` (``ack``, ``update``, ``alert``, each
as ``.txt.jinja`` and ``.html.jinja``); a configured ``notify.template_dir`` with the same layout
overrides any of them file by file (a ChoiceLoader looks there first). HTML templates are
autoescaped, text templates are not; customer text (the subject, names) has its control
characters removed before any template sees it.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from mailtriage.errors import ConfigError
from mailtriage.notify.address import strip_controls
from mailtriage.notify.context import AckContext, AlertContext, AlertItem, UpdateContext
from mailtriage.notify.subject import clean_subject_text, reply_subject, ticket_tag
from mailtriage.notify.wording import Language, Wording

TEXT_WIDTH = 76

_ALERT_ORDER = {"resolution_breached": 0, "response_breached": 1, "new_high": 2,
                "response_at_risk": 3, "resolution_at_risk": 4}
MAX_LISTED_ALERTS = 100
"""An alert mail lists the most urgent this many events and counts the rest: a first run over
a mailbox full of old mail must not send staff one line per old ticket."""
_ALERT_BATCH_SUBJECT: dict[Language, str] = {
    "nl": "{name}: {n} tickets vragen aandacht",
    "en": "{name}: {n} tickets need attention",
}


@dataclass(frozen=True)
class RenderedMail:
    """A rendered mail: subject, plain text and its HTML alternative."""

    subject: str
    text: str
    html: str


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith((".html.jinja", ".html"))


@lru_cache(maxsize=8)
def template_environment(template_dir: Path | None = None) -> jinja2.Environment:
    """The jinja2 environment: ``template_dir`` first (when given), then the packaged templates."""
    loaders: list[jinja2.BaseLoader] = []
    if template_dir is not None:
        if not template_dir.is_dir():
            raise ConfigError(f"'notify.template_dir' {template_dir} is not a directory.",
                              "notify.template_dir")
        loaders.append(jinja2.FileSystemLoader(str(template_dir)))
    loaders.append(jinja2.PackageLoader("mailtriage.notify", "templates"))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def _reflow(text: str) -> str:
    """Wrap long lines at TEXT_WIDTH (list items keep a hanging indent); one blank line max."""
    out: list[str] = []
    for line in text.splitlines():
        line = line if line == "-- " else line.rstrip()
        if len(line) <= TEXT_WIDTH:
            out.append(line)
            continue
        indent = "  " if line.startswith("- ") else ""
        out.append(textwrap.fill(line, TEXT_WIDTH, subsequent_indent=indent,
                                 break_long_words=False, break_on_hyphens=False))
    joined = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", joined).strip() + "\n"


def _render(template_dir: Path | None, language: Language, name: str,
            variables: dict[str, Any]) -> tuple[str, str]:
    env = template_environment(template_dir)
    variables = {"lang": language, **variables}
    try:
        text = env.get_template(f"{language}/{name}.txt.jinja").render(variables)
        html = env.get_template(f"{language}/{name}.html.jinja").render(variables)
    except jinja2.TemplateError as exc:
        raise ConfigError(f"The mail template {language}/{name} cannot be rendered: {exc}",
                          "notify.template_dir") from None
    return _reflow(text), html.strip() + "\n"


def _clean_ack(ctx: AckContext) -> AckContext:
    return replace(ctx, requester_name=strip_controls(ctx.requester_name)[:100],
                   helpdesk_name=strip_controls(ctx.helpdesk_name))


def _words(language: Language, timezone: str, ctx_year: int) -> Wording:
    return Wording(language, ZoneInfo(timezone), ctx_year)


def render_ack(ctx: AckContext, *, template_dir: Path | None = None) -> RenderedMail:
    """The automatic acknowledgement of a new ticket."""
    c = _clean_ack(ctx)
    words = _words(c.language, c.timezone, c.issued_at.astimezone(ZoneInfo(c.timezone)).year)
    variables = {"ctx": c, "c": c, "words": words, "title": f"#{c.ticket_number}",
                 "subject_text": clean_subject_text(c.subject, c.ticket_number)}
    text, html = _render(template_dir, c.language, "ack", variables)
    return RenderedMail(reply_subject(c.subject, c.ticket_number, c.language), text, html)


def render_update(ctx: UpdateContext, *, template_dir: Path | None = None) -> RenderedMail:
    """The update a customer gets after staff corrected the ticket's type or priority."""
    c = _clean_ack(ctx.new)
    words = _words(c.language, c.timezone, c.issued_at.astimezone(ZoneInfo(c.timezone)).year)
    changed = (ctx.previous_kind is not None and ctx.previous_kind != c.kind) or (
        ctx.previous_priority is not None and ctx.previous_priority != c.priority)
    variables = {"ctx": ctx, "c": c, "words": words, "changed": changed,
                 "title": f"#{c.ticket_number}",
                 "subject_text": clean_subject_text(c.subject, c.ticket_number)}
    text, html = _render(template_dir, c.language, "update", variables)
    return RenderedMail(reply_subject(c.subject, c.ticket_number, c.language), text, html)


def _alert_subject(ctx: AlertContext, items: tuple[AlertItem, ...], words: Wording) -> str:
    name = strip_controls(ctx.helpdesk_name)
    if len(items) == 1:
        item = items[0]
        text = clean_subject_text(item.subject, item.ticket_number)
        return f"{words.alert_label(item.kind)}: {text} {ticket_tag(item.ticket_number)}"
    return _ALERT_BATCH_SUBJECT[ctx.language].format(name=name, n=len(items))


def render_alert(ctx: AlertContext, *, template_dir: Path | None = None) -> RenderedMail:
    """A staff alert: a new high-priority incident, or deadlines at risk or missed (batched).

    Templates get ``items`` (every event, most urgent first), ``listed`` (the first
    ``MAX_LISTED_ALERTS`` of them, which the bundled templates show) and ``more`` (the rest).
    """
    words = _words(ctx.language, ctx.timezone,
                   ctx.issued_at.astimezone(ZoneInfo(ctx.timezone)).year)
    items = tuple(sorted(
        (replace(i, subject=clean_subject_text(i.subject, i.ticket_number),
                 requester=strip_controls(i.requester)[:200]) for i in ctx.items),
        key=lambda i: (_ALERT_ORDER[i.kind], i.due.timestamp() if i.due else 0.0,
                       i.ticket_number)))
    listed = items[:MAX_LISTED_ALERTS]
    urls = {i.ticket_number: ctx.ticket_url.format(number=i.ticket_number)
            for i in listed} if ctx.ticket_url else {}
    variables = {"ctx": ctx, "items": items, "listed": listed,
                 "more": len(items) - len(listed), "words": words, "urls": urls,
                 "title": strip_controls(ctx.helpdesk_name),
                 "helpdesk_name": strip_controls(ctx.helpdesk_name)}
    text, html = _render(template_dir, ctx.language, "alert", variables)
    return RenderedMail(_alert_subject(ctx, items, words), text, html)
