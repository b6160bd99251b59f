"""Noise rules as data: loading publisher profiles and finding noise spans in a text.

A profile is a TOML file in ``corpus/profiles`` (or a user folder) with a list of rules.
Each rule has an ``id``, the noise ``kind`` it handles, a ``scope`` saying where it may
fire, and a regular expression. Scopes:

- ``line``: the whole line matches, anywhere in the article;
- ``lead`` / ``tail``: the whole line matches, while peeling lines off the start / end;
- ``span``: any match inside any line (glued noise in flattened text);
- ``lead-span``: a match at the very start of the first body line (datelines);
- ``tail-span``: a match at the very end of the last body line (glued attributions, bylines);
- ``block``: a whole line that starts a block running to the end of the article
  (related-story and footer blocks); only in the second half of the article;
- ``tail-cut``: a match inside a line, in the last part of the article, from which
  everything to the end is noise (flattened footers and related lists).

Patterns may use macros: ``{UP}`` an uppercase letter, ``{LO}`` a lowercase letter,
``{L}`` any letter, ``{NAME}`` a credit name (capitalised words), ``{DASH}``, ``{OUTLET}``
(the profile's outlet allowlist), ``{BOUND}`` a sentence or segment boundary before the match.
A named group ``value`` is lifted into the rule's ``field`` (dateline, attribution).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from .resources import profiles_dir

SCOPES = ("line", "lead", "tail", "span", "lead-span", "tail-span", "block", "tail-cut")
FIELDS = ("dateline", "attribution", "published")

# The noise kinds of the taxonomy, plus the metadata the cleaner lifts out of the body.
KINDS = (
    "dateline", "location-stamp", "caption", "caption-credit", "video", "related",
    "attribution", "byline", "end-marker", "widget", "reader-prompt", "donation",
    "footer", "advert", "tags", "metadata", "script", "template", "repeated-title",
    "repeated-sapo", "title", "other",
)


def _letters() -> tuple[str, str]:
    import unicodedata

    base = "abcdefghijklmnopqrstuvwxyzăâđêôơư"
    marks = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
    lower = set(base)
    for ch in "aăâeêioôơuưy":
        for m in marks:
            lower.add(unicodedata.normalize("NFC", ch + m))
    lower |= set("àáâãäåçèéêëìíîïñòóôõöùúûüýÿœšžß")
    upper = {c.upper() for c in lower if len(c.upper()) == 1 and c.upper() != c}
    return "".join(sorted(upper)), "".join(sorted(lower))


UPPER_CHARS, LOWER_CHARS = _letters()
UP = f"[{UPPER_CHARS}]"
LO = f"[{LOWER_CHARS}]"
L = f"[{UPPER_CHARS}{LOWER_CHARS}]"
# A capitalised name token: Title-case, ALL-CAPS or an initial, ending before a lowercase
# letter so a credit glued to the next sentence ("Ảnh: Gia MinhTheo các") stops at "Minh".
# A token followed by a lowercase word or a number starts the next sentence ("Ảnh: AFC Vị
# thế..."), and common sentence openers never continue a name.
_NOT_NAME = "(?!(?:Theo|Tại|Trong|Sau|Khi|Ngày|Sáng|Chiều|Tối|Đêm|Trưa|Đây|Đó|Các|Những|Một|Ông|Bà|Hiện|Vào|Với|Từ|Cũng|Nhưng|Tuy|Do|Vì|Năm|Tháng|Lúc|Hôm|Nếu|Để|Còn|Cùng)(?![\\w]))"
_END = "(?! (?:" + LO + "|\\d))"
_TITLE = f"(?:{UP}{LO}+(?!{LO}){_END})"
_CAPS = f"(?:{UP}+(?!{LO}){_END})"
_INIT = f"(?:{UP}\\.(?:{UP}\\.?)*{_END})"
_NAME_TOKEN = f"(?:{_TITLE}|{_CAPS}|{_INIT})"
# One name keeps one case: Title-case words ("Gia Minh") or capitals ("NGỌC PHƯỢNG", "AFP"),
# so "Ảnh: Gia Minh WHO - ..." stops before the acronym that opens the next sentence.
_WORDS = (f"(?:(?:{_TITLE}|{_INIT})(?:(?: |\\.){_NOT_NAME}(?:{_TITLE}|{_INIT})){{0,5}}"
          f"|(?:{_CAPS}|{_INIT})(?:(?: |\\.){_NOT_NAME}(?:{_CAPS}|{_INIT})){{0,5}})")
NAME = f"{_WORDS}(?: ?/ ?{_NOT_NAME}{_WORDS}| ?[-–] ?{_NOT_NAME}{_NAME_TOKEN}(?: {_NOT_NAME}{_NAME_TOKEN}){{1,4}}){{0,3}}"
DASH = "[-–—]"
# Characters after which a span rule with ``boundary = true`` may start.
BOUNDARY_CHARS = frozenset(" \t\n.!?;:\"”’)]|–—-")

MACROS = {"UP": UP, "LO": LO, "L": L, "NAME": NAME, "DASH": DASH}


class ProfileError(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    scope: str
    pattern: re.Pattern
    field: str | None = None
    caption_before: bool = False  # also remove the caption sentence right before a credit
    boundary: bool = False  # span rules: a sentence/segment boundary must precede the match
    absorb_dash: bool = False  # span rules: also remove a " - " right before the match
    headline_before: bool = False  # line rules: also the headline-like line just before
    headline_after: bool = False  # line rules: also the headline-like lines just after
    extent: str = "to-end"  # block rules: "to-end", or "headlines" (the header and the headline lines after it)
    min_position: float = 0.0  # block / tail-cut: earliest relative position in the text
    profile: str = "generic"
    # Literal strings one of which every match starts with (derived from the pattern), so a
    # rule whose prefixes are absent from an article is skipped with a fast substring test.
    prefixes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Profile:
    id: str
    description: str
    publishers: tuple[str, ...]
    domains: tuple[str, ...]
    outlets: tuple[str, ...]
    rules: tuple[Rule, ...]
    source: str


def _expand(pattern: str, outlets: tuple[str, ...], where: str) -> str:
    macros = dict(MACROS)
    macros["OUTLET"] = "(?:" + "|".join(re.escape(o) for o in sorted(outlets, key=len, reverse=True)) + ")" if outlets else "(?!)"
    try:
        return re.sub(r"\{([A-Z]+)\}", lambda m: macros[m.group(1)], pattern)
    except KeyError as exc:
        raise ProfileError(f"{where}: unknown macro {{{exc.args[0]}}}") from None


def load_profile(path: Path, outlets: tuple[str, ...] = ()) -> Profile:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    head = raw.get("profile", {})
    pid = head.get("id") or path.stem
    own_outlets = tuple(head.get("outlets", ()))
    all_outlets = tuple(outlets) + own_outlets
    rules = []
    for n, r in enumerate(raw.get("rules", []), 1):
        where = f"{path}: rule #{n} ({r.get('id', '?')})"
        for key in ("id", "kind", "scope", "pattern"):
            if key not in r:
                raise ProfileError(f"{where}: missing '{key}'")
        if r["scope"] not in SCOPES:
            raise ProfileError(f"{where}: scope must be one of {SCOPES}, not {r['scope']!r}")
        if r["kind"] not in KINDS:
            raise ProfileError(f"{where}: kind must be one of {KINDS}, not {r['kind']!r}")
        if r.get("extent", "to-end") not in ("to-end", "headlines"):
            raise ProfileError(f"{where}: extent must be 'to-end' or 'headlines'")
        if r.get("field") not in (None, *FIELDS):
            raise ProfileError(f"{where}: field must be one of {FIELDS}")
        flags = re.IGNORECASE if r.get("ignore_case") else 0
        try:
            pattern = re.compile(_expand(r["pattern"], all_outlets, where), flags)
        except re.error as exc:
            raise ProfileError(f"{where}: bad pattern: {exc}") from None
        rules.append(
            Rule(
                prefixes=None if flags & re.IGNORECASE else literal_prefixes(pattern.pattern),
                id=f"{pid}/{r['id']}",
                kind=r["kind"],
                scope=r["scope"],
                pattern=pattern,
                field=r.get("field"),
                caption_before=bool(r.get("caption_before", False)),
                boundary=bool(r.get("boundary", False)),
                absorb_dash=bool(r.get("absorb_dash", False)),
                headline_before=bool(r.get("headline_before", False)),
                headline_after=bool(r.get("headline_after", False)),
                extent=r.get("extent", "to-end"),
                min_position=float(r.get("min_position", 0.5 if r["scope"] in ("block", "tail-cut") else 0.0)),
                profile=pid,
            )
        )
    return Profile(
        id=pid,
        description=head.get("description", ""),
        publishers=tuple(p.casefold() for p in head.get("publishers", ())),
        domains=tuple(d.casefold() for d in head.get("domains", ())),
        outlets=own_outlets,
        rules=tuple(rules),
        source=str(path),
    )


@dataclass(frozen=True, eq=False)
class RuleSet:
    """The rules for one article, grouped by scope, with combined patterns for speed."""

    rules: tuple[Rule, ...]
    by_scope: dict = field(default_factory=dict)
    combined: dict = field(default_factory=dict)  # scope -> (pattern, {group name: rule})

    @classmethod
    def of(cls, rules: tuple[Rule, ...]) -> "RuleSet":
        by_scope: dict[str, list[Rule]] = {s: [] for s in SCOPES}
        for r in rules:
            by_scope[r.scope].append(r)
        combined = {}
        for scope, rs in by_scope.items():
            if not rs:
                continue
            names = {f"r{i}": r for i, r in enumerate(rs)}
            # Strip inner named groups: only the outer group names identify the rule.
            parts = [f"(?P<{n}>{_unname(r.pattern.pattern)})" for n, r in names.items()]
            flags = 0
            if all(r.pattern.flags & re.IGNORECASE for r in rs):
                flags = re.IGNORECASE
            try:
                pat = re.compile("|".join(parts), flags)
            except re.error:
                pat = None
            if any((r.pattern.flags & re.IGNORECASE) != flags for r in rs):
                pat = None  # mixed flags: fall back to per-rule matching
            combined[scope] = (pat, names)
        return cls(tuple(rules), {k: tuple(v) for k, v in by_scope.items()}, combined)


def literal_prefixes(pattern: str, limit: int = 24) -> tuple[str, ...] | None:
    """The literal strings every match of ``pattern`` starts with, or None if it can start
    with anything. Uses the stdlib regex parser, so rules need no hand-written triggers."""
    from re import _constants as c, _parser as p

    def walk(items) -> list[str] | None:
        out = [""]
        for op, av in items:
            if op is c.LITERAL:
                out = [o + chr(av) for o in out]
                continue
            if op in (c.AT, c.ASSERT, c.ASSERT_NOT) and out == [""]:
                continue  # anchors and look-arounds before the first literal
            if op is c.SUBPATTERN:
                sub = walk(av[-1])
            elif op is c.BRANCH:
                sub = []
                for branch in av[1]:
                    got = walk(branch)
                    if got is None:
                        sub = None
                        break
                    sub += got
            elif op is c.IN and len(av) <= 8 and all(o is c.LITERAL for o, _ in av):
                sub = [chr(v) for _, v in av]
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:
                sub = walk(av[2])
                if sub is not None:
                    out = [o + x for o in out for x in sub]
                break
            else:
                sub = None
            if sub is None:
                break
            out = [o + x for o in out for x in sub]
            if len(out) > limit:
                return None
            if any(x == "" for x in sub):
                break
        if any(o == "" for o in out):
            return None
        return out

    try:
        got = walk(p.parse(pattern))
    except Exception:  # an exotic construct: no prefilter, never a wrong one
        return None
    if not got:
        return None
    # A short prefix is as good a prefilter and dedupes alternatives ("Trình duyệt ...").
    return tuple(sorted({g[:6] for g in got}))


@lru_cache(maxsize=512)
def _subset(rules: "RuleSet", mask: tuple[bool, ...]) -> "RuleSet":
    return RuleSet.of(tuple(r for r, on in zip(rules.rules, mask) if on))


@lru_cache(maxsize=64)
def _all_prefixes(rules: "RuleSet") -> tuple[str, ...]:
    return tuple(sorted({p for r in rules.rules for p in (r.prefixes or ())}))


def active_rules(rules: "RuleSet", text: str) -> "RuleSet":
    """The rules that can match somewhere in ``text`` (their literal prefix occurs in it).
    Each distinct prefix is looked up once with a substring test."""
    present = {p for p in _all_prefixes(rules) if p in text}
    mask = tuple(r.prefixes is None or not present.isdisjoint(r.prefixes) for r in rules.rules)
    return rules if all(mask) else _subset(rules, mask)


def _unname(pattern: str) -> str:
    return re.sub(r"\(\?P<[A-Za-z_]\w*>", "(?:", pattern)


# --- profile selection -------------------------------------------------------------

def _profile_paths(extra_dirs: tuple[Path, ...]) -> list[Path]:
    paths = sorted(profiles_dir().glob("*.toml"))
    for d in extra_dirs:
        paths += sorted(Path(d).glob("*.toml"))
    return paths


@lru_cache(maxsize=8)
def load_profiles(extra_dirs: tuple[Path, ...] = ()) -> tuple[Profile, tuple[Profile, ...]]:
    """Return (generic profile, publisher profiles). Outlets of every profile feed the
    generic dateline allowlist, so adding a site's profile teaches the generic rules its
    dateline too."""
    paths = _profile_paths(extra_dirs)
    raw_outlets: list[str] = []
    for p in paths:
        head = tomllib.loads(p.read_text(encoding="utf-8")).get("profile", {})
        raw_outlets += head.get("outlets", [])
    generic = None
    specific = []
    for p in paths:
        prof = load_profile(p, tuple(raw_outlets) if p.stem == "generic" else tuple(raw_outlets))
        if prof.id == "generic":
            generic = prof
        else:
            specific.append(prof)
    if generic is None:
        raise ProfileError(f"no generic.toml among {[str(p) for p in paths]}")
    return generic, tuple(specific)


def select_profiles(publisher: str | None, url: str | None, specific: tuple[Profile, ...],
                    dateline: str | None = None) -> tuple[Profile, ...]:
    """Profiles for an article: by publisher name, by URL domain, or by the outlet its
    dateline names (a text file with "TPO - " on the lead gets Tiền Phong's rules)."""
    pub = (publisher or "").casefold()
    host = ""
    if url:
        try:
            host = (urlsplit(url).hostname or "").casefold()
        except ValueError:
            host = ""
    chosen = []
    for prof in specific:
        if pub and any(p == pub or p in pub for p in prof.publishers):
            chosen.append(prof)
        elif host and any(host == d or host.endswith("." + d) for d in prof.domains):
            chosen.append(prof)
        elif dateline and dateline in prof.outlets:
            chosen.append(prof)
    return tuple(chosen)


@lru_cache(maxsize=256)
def ruleset_for(profile_ids: tuple[str, ...], extra_dirs: tuple[Path, ...] = ()) -> RuleSet:
    generic, specific = load_profiles(extra_dirs)
    rules = list(generic.rules)
    for prof in specific:
        if prof.id in profile_ids:
            rules.extend(prof.rules)
    return RuleSet.of(tuple(rules))
