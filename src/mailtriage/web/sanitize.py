"""Staff-safe rendering of mail HTML: nh3 sanitizing, with every image source removed.

Scripts, event handlers, styles, forms, frames and ``javascript:`` links are removed; links keep
only absolute http(s) and mailto targets and get ``rel``; relative URLs are dropped
so a mail cannot point into this application. Images never load: a remote ``src`` would let the
sender see that the mail was read (and could reach internal addresses), so it is removed and
counted. The page's Content-Security-Policy blocks script even if something slipped through.
"""

from __future__ import annotations

from dataclasses import dataclass

import nh3

_TAGS = set(nh3.ALLOWED_TAGS) - {"area", "map"}
_ATTRIBUTES: dict[str, set[str]] = {
    tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items() if tag in _TAGS
}
_ATTRIBUTES["img"] = {"src", "alt", "width", "height"}
_ATTRIBUTES["a"] = {"href", "title"}
_CLEAN_CONTENT = {"script", "style", "title", "head", "noscript", "template", "iframe",
                  "object", "embed", "svg", "math", "textarea", "select"}
_URL_ATTRIBUTES = frozenset({"href", "src", "cite", "action", "data", "poster"})
_LINK_PREFIXES = ("https://", "http://", "mailto:")


@dataclass(frozen=True)
class SafeHtml:
    """Sanitized markup and how many images were kept from loading."""

    html: str
    blocked_images: int


def sanitize_mail_html(html: str) -> SafeHtml:
    """Sanitize one mail's HTML body for display in the staff UI."""
    blocked = 0

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        nonlocal blocked
        if tag == "img" and attribute == "src":
            blocked += 1
            return None
        if attribute in _URL_ATTRIBUTES:
            return value if value.strip().lower().startswith(_LINK_PREFIXES) else None
        if attribute in ("width", "height"):
            return value if value.isdigit() and int(value) <= 2000 else None
        return value

    cleaned = nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags=_CLEAN_CONTENT,
        attributes=_ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes={"http", "https", "mailto", "cid", "data"},
        url_relative="pass_through",
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return SafeHtml(cleaned, blocked)
