"""Loads the staff-editable rules file and finds which rules fire on a mail.

A rule is a small named object: why it fires (``description``), the language it applies to
(``nl``, ``en`` or ``any``), one or more case-insensitive regular expressions (``patterns``; it
fires when any matches), optional ``unless`` expressions that silence it, and what it votes: a
``type`` and/or a ``priority``, with a ``strength`` (``weak``, ``medium``, ``strong`` or a number:
the log-odds added to the voted class). A broken file raises ``ConfigError`` naming the rule and
the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from mailtriage.classify.decision import PRIORITIES, TYPES, Priority, TicketType, Vote
from mailtriage.errors import ConfigError

STRENGTHS: Mapping[str, float] = {"weak": 0.7, "medium": 1.5, "strong": 3.0}
LANGUAGES = ("nl", "en", "any")
_KEYS = frozenset({"name", "description", "language", "patterns", "unless", "type", "priority",
                   "strength"})
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@dataclass(frozen=True)
class Rule:
    """One named rule; see the module docstring for the fields."""

    name: str
    description: str
    language: str
    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...]
    type: TicketType | None
    priority: Priority | None
    weight: float

    def applies_to(self, language: str) -> bool:
        return self.language == "any" or self.language == language

    def fires(self, text: str) -> bool:
        """True when a pattern matches ``text`` (lower-cased) and no ``unless`` pattern does."""
        return self.fires_on(_Text.of(text))

    def fires_on(self, text: _Text) -> bool:
        """``fires`` for a text whose lower-cased form is already at hand."""
        return (_any_matches(self._screened_patterns, text)
                and not _any_matches(self._screened_unless, text))

    @cached_property
    def _screened_patterns(self) -> tuple[_Screened, ...]:
        return _screen(self.patterns)

    @cached_property
    def _screened_unless(self) -> tuple[_Screened, ...]:
        return _screen(self.unless)

    def vote(self) -> Vote:
        return Vote(rule=self.name, description=self.description, type=self.type,
                    priority=self.priority, weight=self.weight)


@dataclass(frozen=True)
class RuleSet:
    """The loaded rules, in file order, and where they came from."""

    rules: tuple[Rule, ...]
    source: str

    def votes(self, text: str, language: str) -> tuple[Vote, ...]:
        """The votes of every rule for ``language`` that fires on ``text`` (from ``model_text``)."""
        prepared = _Text.of(text)
        return tuple(r.vote() for r in self.rules
                     if r.applies_to(language) and r.fires_on(prepared))

    def by_name(self, name: str) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)


# -- a cheap necessary condition before each regular expression ---------------------------------
#
# Most patterns start with ``\b`` and a group, which Python's ``re`` tries at every position of
# the text; with some fifty rules that cost more than parsing the mail. Every pattern, though,
# needs one of a few literal words to be present (``(error|fout)\s*5\d\d`` needs "error" or
# "fout"), and ``str.__contains__`` finds out far faster. The words are taken from the parsed
# pattern, lower-cased and ASCII only; a text with a character that ``re.IGNORECASE`` equates
# with an ASCII letter although ``str.lower`` does not (the long s, the dotless i, the Kelvin
# sign) skips the shortcut, so the outcome is exactly that of the expression alone.

_FOLDS_TO_ASCII = re.compile("[" + "".join(
    sorted({c for c in map(chr, range(0x80, 0x10000)) if c.isalpha()
            and re.fullmatch("[a-z]", c, re.IGNORECASE)})) + "]")


@dataclass(frozen=True)
class _Text:
    """A text, its lower-cased form, and whether only the expressions can judge it."""

    raw: str
    lowered: str
    exact: bool

    @classmethod
    def of(cls, text: str) -> _Text:
        return cls(text, text.lower(), _FOLDS_TO_ASCII.search(text) is not None)


_Screened = tuple[re.Pattern[str], tuple[frozenset[str], ...]]
"""An expression and the groups of words a text needs for it to match (``_needles``)."""


def _screen(patterns: tuple[re.Pattern[str], ...]) -> tuple[_Screened, ...]:
    return tuple((p, _needles(p.pattern, p.flags)) for p in patterns)


def _any_matches(screened: tuple[_Screened, ...], text: _Text) -> bool:
    """Whether one of the expressions matches ``text``; its words are looked for first."""
    for pattern, groups in screened:
        if (text.exact or _holds_a_word_of_each(groups, text.lowered)) and pattern.search(text.raw):
            return True
    return False


def _holds_a_word_of_each(groups: tuple[frozenset[str], ...], lowered: str) -> bool:
    # Plain loops: generator expressions in all(any(...)) cost a third of the rules' time.
    for group in groups:
        for word in group:
            if word in lowered:
                break
        else:
            return False
    return True


@lru_cache(maxsize=4096)
def _needles(source: str, flags: int) -> tuple[frozenset[str], ...]:
    """Groups of words: every text the pattern matches holds a word of each group."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        return tuple(_sequence_needles(_parser.parse(source, flags)))
    except Exception:  # an unfamiliar parse tree: no shortcut, the expression decides
        return ()


def _sequence_needles(items: Any) -> list[frozenset[str]]:
    from re import _constants as c  # type: ignore[attr-defined]

    groups: list[frozenset[str]] = []

    def add(found: frozenset[str]) -> None:
        if found and all(n and n.isascii() for n in found):
            groups.append(found)

    run: list[str] = []
    for op, av in items:
        if op is c.LITERAL:
            run.append(chr(av).lower())
            continue
        if run:
            add(frozenset({"".join(run)}))
        run = []
        if op is c.SUBPATTERN:
            groups.extend(_sequence_needles(av[3]))
        elif op is c.BRANCH:
            options = [_best(_sequence_needles(branch)) for branch in av[1]]
            if all(options):
                add(frozenset().union(*options))  # type: ignore[arg-type]
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] >= 1:
            groups.extend(_sequence_needles(av[2]))
        elif op is c.ATOMIC_GROUP:
            groups.extend(_sequence_needles(av))
    if run:
        add(frozenset({"".join(run)}))
    return sorted(groups, key=lambda g: -min(map(len, g)))


def _best(groups: list[frozenset[str]]) -> frozenset[str] | None:
    """The most telling group (longest shortest word) of a conjunction, for a branch."""
    return groups[0] if groups else None


def bundled_rules_text() -> str:
    """The text of the rules file shipped with the package."""
    return resources.files("mailtriage.classify").joinpath("rules.toml").read_text("utf-8")


def load_rules(path: Path | None = None) -> RuleSet:
    """The rules of ``path``, or the bundled ``rules.toml`` when ``path`` is None."""
    if path is None:
        return parse_rules(bundled_rules_text(), source="bundled rules.toml")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"The rules file {path} does not exist.", "classify.rules_file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The rules file {path} cannot be read: {exc}.",
                          "classify.rules_file") from None
    return parse_rules(text, source=str(path))


def parse_rules(text: str, *, source: str = "rules") -> RuleSet:
    """Parse and validate a rules file; ``ConfigError`` names the rule and the key at fault."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The rules file {source} is not valid TOML: {exc}.", "rule") from None
    extra = sorted(set(data) - {"rule"})
    if extra:
        raise ConfigError(f"The rules file {source} has an unknown top-level key '{extra[0]}'; "
                          "write rules as [[rule]] tables.", extra[0])
    raw = data.get("rule", [])
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"The rules file {source} has no [[rule]] tables.", "rule")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        rule = _parse_rule(item, index, source)
        if rule.name in seen:
            raise ConfigError(f"Rule '{rule.name}' in {source} is defined twice.",
                              f"rule.{rule.name}.name")
        seen.add(rule.name)
        rules.append(rule)
    return RuleSet(rules=tuple(rules), source=source)


def _parse_rule(item: Any, index: int, source: str) -> Rule:
    where = f"rule[{index}]"
    if not isinstance(item, Mapping):
        raise ConfigError(f"'{where}' in {source} must be a table.", where)
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"'{where}.name' in {source} must be a lower-case name of letters, "
                          "digits, '-', '_' or '.'.", f"{where}.name")
    label = f"Rule '{name}' in {source}"

    def key(k: str) -> str:
        return f"rule.{name}.{k}"

    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise ConfigError(f"{label}: '{unknown[0]}' is not a known key.", key(unknown[0]))
    description = item.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ConfigError(f"{label}: 'description' must say why the rule fires.",
                          key("description"))
    language = item.get("language", "any")
    if language not in LANGUAGES:
        raise ConfigError(f"{label}: 'language' must be one of nl, en, any.", key("language"))
    patterns = _patterns(item.get("patterns"), label, key("patterns"), required=True)
    unless = _patterns(item.get("unless", []), label, key("unless"), required=False)
    type_ = item.get("type")
    if type_ is not None and type_ not in TYPES:
        raise ConfigError(f"{label}: 'type' must be one of {', '.join(TYPES)}.", key("type"))
    priority = item.get("priority")
    if priority is not None and priority not in PRIORITIES:
        raise ConfigError(f"{label}: 'priority' must be one of {', '.join(PRIORITIES)}.",
                          key("priority"))
    if type_ is None and priority is None:
        raise ConfigError(f"{label}: set 'type', 'priority' or both; it votes for nothing.",
                          key("type"))
    weight = _strength(item.get("strength", "medium"), label, key("strength"))
    return Rule(name=name, description=description.strip(), language=language,
                patterns=patterns, unless=unless, type=type_, priority=priority, weight=weight)


def _patterns(value: Any, label: str, key: str, *, required: bool) -> tuple[re.Pattern[str], ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, str) or (required and not value):
        raise ConfigError(f"{label}: '{key.rsplit('.', 1)[1]}' must be a non-empty list of "
                          "regular expressions.", key)
    compiled = []
    for n, pattern in enumerate(value):
        if not isinstance(pattern, str) or not pattern:
            raise ConfigError(f"{label}: pattern {n + 1} must be a non-empty string.", key)
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE))
        except re.error as exc:
            raise ConfigError(f"{label}: pattern {n + 1} ({pattern!r}) is not a valid regular "
                              f"expression: {exc}.", key) from None
    return tuple(compiled)


def _strength(value: Any, label: str, key: str) -> float:
    if isinstance(value, str) and value in STRENGTHS:
        return STRENGTHS[value]
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 10:
        return float(value)
    raise ConfigError(f"{label}: 'strength' must be weak, medium, strong or a number in (0, 10].",
                      key)
