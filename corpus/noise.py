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

Speed: ``literal_facts`` derives from each pattern what every match must contain (literals
it starts with or contains, where it may start or end), and ``Scanner`` finds those literals
in a line with one regex pass, so the cleaner only calls the regexes that can match.
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


# --- literal analysis for fast prechecks --------------------------------------------
#
# The engine skips a regex call when a cheap literal test proves it cannot match. These
# facts are derived from the parsed pattern and must be *sound* (never claim a literal
# that a match could lack); anything unusual yields "no fact", which only costs speed.

_MAX_SET = 256  # larger literal sets are not worth a test
_MAX_LIT = 8  # literals are cut to this length (a cut prefix or substring is still implied)
_WEAK = frozenset(" .,-'\"")  # single characters too common to be worth a test


@dataclass(frozen=True)
class _Lit:
    exact: frozenset | None  # the match is always one of these strings (may hold "")
    start: frozenset | None  # every match starts with one of these (non-empty) strings
    needed: frozenset | None  # every match contains one of these (non-empty) strings


_OPAQUE = _Lit(None, None, None)
_EMPTY = _Lit(frozenset({""}), None, None)


def _cross(a, b):
    out = frozenset(x + y for x in a for y in b)
    return out if len(out) <= _MAX_SET else None


def _weight(lits) -> tuple:
    """How good a literal set is for the scan: cheap first characters (the scan stops at
    each occurrence of one), then its weakest member's length, then fewer members."""
    w = min((0 if (len(s) == 1 and s in _WEAK) else len(s)) for s in lits)
    return (min(w, 1), -max(_char_cost(s[0]) for s in lits), min(w, 4), -len(lits))


def _char_cost(ch: str) -> int:
    """Rough frequency class of a character in news text: spaces and lowercase letters are
    everywhere, sentence punctuation is common, capitals and other symbols are rare. The
    scanner only looks for literals that start with a rare character (cost <= 3)."""
    if ch == " ":
        return 100
    if ch in "fjwz":  # not letters of the Vietnamese alphabet
        return 1
    if ch.islower() or ch in ".,":
        return 10
    if ch in "-:/)'\"":
        return 5
    return 3 if ch.isdigit() else 1


def _anchored(lits):
    """The same needed set, each literal cut to start at its first rare character (any
    substring of a needed literal is needed too)."""
    out = set()
    for s in lits:
        i = next((k for k, ch in enumerate(s) if _char_cost(ch) <= 3), 0)
        out.add(s[i:])
    return frozenset(out)


def _best(*sets):
    sets = [_anchored(s) for s in sets if s and "" not in s]
    if not sets:
        return None
    best = max(sets, key=_weight)
    weight = _weight(best)
    # A set led by common characters would stop the scan everywhere: no fact is cheaper.
    return best if weight[0] > 0 and -weight[1] <= 3 else None


def _item(op, av, c) -> _Lit:
    if op is c.LITERAL:
        return _Lit(frozenset({chr(av)}), None, None)
    if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
        return _EMPTY  # zero width: adds nothing to the matched text
    if op is c.IN and 0 < len(av) <= 8 and all(o is c.LITERAL for o, _ in av):
        return _Lit(frozenset(chr(v) for _, v in av), None, None)
    if op is c.SUBPATTERN:
        _group, add_flags, _del, sub = av
        return _OPAQUE if add_flags & re.IGNORECASE else _seq(sub, c)
    if op is c.ATOMIC_GROUP:
        return _seq(av, c)
    if op is c.BRANCH:
        alts = [_seq(b, c) for b in av[1]]
        exact = start = needed = None
        if all(a.exact is not None for a in alts):
            exact = frozenset().union(*(a.exact for a in alts))
            exact = exact if len(exact) <= _MAX_SET else None
        starts = [a.start or (a.exact if a.exact and "" not in a.exact else None) for a in alts]
        if all(starts):
            start = frozenset().union(*starts)
        needs = [_best(a.needed, a.exact, a.start) for a in alts]
        if all(needs):
            needed = frozenset().union(*needs)
        return _Lit(exact, start if start and len(start) <= _MAX_SET else None,
                    needed if needed and len(needed) <= _MAX_SET else None)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        lo, hi, sub = av
        inner = _seq(sub, c)
        if inner.exact is not None and (lo, hi) == (0, 1):
            return _Lit(inner.exact | {""}, None, None)
        if inner.exact is not None and lo == hi and lo <= 4:
            out = frozenset({""})
            for _ in range(lo):
                out = _cross(out, inner.exact) if out is not None else None
            return _Lit(out, None, None)
        if lo == 0:
            return _OPAQUE
        first = inner.exact if inner.exact and "" not in inner.exact else inner.start
        return _Lit(None, first, _best(inner.needed, inner.exact, inner.start))
    return _OPAQUE  # classes, categories, any, group references, conditionals


def _seq(items, c) -> _Lit:
    parts = [_item(op, av, c) for op, av in items]
    # Whole sequence exact?
    exact = frozenset({""})
    for p in parts:
        exact = _cross(exact, p.exact) if (exact is not None and p.exact is not None) else None
    # Start: the exact parts from the left, then the first inexact part's start.
    start = frozenset({""})
    for p in parts:
        if p.exact is not None:
            start = _cross(start, p.exact)
        else:
            start = _cross(start, p.start) if (start is not None and p.start) else (start if start and "" not in start else None)
            break
        if start is None:
            break
    if start is not None and "" in start:
        start = None
    # Needed: any one part's needed set, or a run of exact parts glued together.
    candidates = [exact, start]
    run = frozenset({""})
    for p in parts:
        candidates.append(p.needed)
        if p.exact is not None:
            run = _cross(run, p.exact) if run is not None else None
            if run is None:
                run = p.exact
            candidates.append(run)
        else:
            if run is not None and p.start:
                candidates.append(_cross(run, p.start))
            run = frozenset({""})
            candidates.append(p.start)
    return _Lit(exact, start, _best(*candidates))


@dataclass(frozen=True)
class LiteralFacts:
    start: tuple[str, ...] | None  # every match starts with one of these
    needed: tuple[str, ...] | None  # every match contains one of these
    min_width: int
    lookbehind: str | None  # the pattern opens with (?<=[...]) on these characters
    plain: bool  # no group references or conditionals (safe to run rule by rule)
    # Every match is some characters of ``lead_class`` then one of ``lead`` (``\s*\(?Theo``):
    # a match starts in the run of such characters right before an occurrence.
    lead: tuple[str, ...] | None = None
    lead_class: re.Pattern | None = None
    # A match ends with one of ``tail`` followed by at most ``tail_width`` characters
    # ("... - Ảnh 1."): a whole-line match needs one of them near the end of the line.
    tail: tuple[str, ...] | None = None
    tail_width: int = 0
    # The last character of a match that is not white space is one of ``end_class``; a
    # match that must end where the string ends (fullmatch, or ``at_end``: the pattern
    # ends with ``$``) is impossible if the string's last such character is not.
    end_class: re.Pattern | None = None
    at_end: bool = False


@lru_cache(maxsize=1024)
def literal_facts(pattern: re.Pattern) -> LiteralFacts:
    """Sound literal facts about ``pattern`` (see the section comment). The analysis reads
    the stdlib parser's tree; anything it does not expect gives no facts."""
    try:
        return _facts(pattern)
    except Exception:
        return LiteralFacts(None, None, 0, None, False)


def _facts(pattern: re.Pattern) -> LiteralFacts:
    from re import _constants as c, _parser as p

    parsed = p.parse(pattern.pattern, pattern.flags)
    plain = _plain(parsed.data, c)
    lo = parsed.getwidth()[0]
    if pattern.flags & re.IGNORECASE:
        return LiteralFacts(None, None, lo, None, plain)
    info = _seq(parsed.data, c)
    cut = lambda s: tuple(sorted({x[:_MAX_LIT] for x in s})) if s else None
    lead, lead_class = _lead(parsed.data, c, pattern.flags)
    tail, tail_width = _tail(parsed, c)
    end = _end_classes(parsed.data, c)
    end_class = None
    if end and end[1]:
        try:
            end_class = re.compile("|".join(end[0]), pattern.flags & ~re.VERBOSE)
        except re.error:
            end_class = None
    at_end = bool(parsed.data) and parsed.data[-1][0] is c.AT and parsed.data[-1][1] in (c.AT_END, c.AT_END_STRING)
    # Start literals are positions too, so they cannot be cut; only rare first characters pay.
    start = info.start if info.start and max(_char_cost(x[0]) for x in info.start) <= 3 and \
        _weight(info.start)[0] > 0 else None
    return LiteralFacts(cut(start), cut(_best(info.needed, info.exact, info.start)), lo,
                        _lookbehind_chars(parsed.data, c), plain, cut(lead), lead_class,
                        tail, tail_width, end_class, at_end)


_CATEGORIES = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
               "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W"}


def _char_class(op, av, c) -> str | None:
    """Regex source for the characters one single-character item can match, or None."""
    if op is c.LITERAL:
        return re.escape(chr(av))
    if op is c.NOT_LITERAL:
        return "[^" + re.escape(chr(av)) + "]"
    if op is c.ANY:
        return "(?s:.)"
    if op is c.CATEGORY:
        return _CATEGORIES.get(str(av))
    if op is c.IN:
        parts = []
        for o, v in av:
            if o is c.NEGATE:
                parts.insert(0, "^")
            elif o is c.LITERAL:
                parts.append(re.escape(chr(v)))
            elif o is c.RANGE:
                parts.append(re.escape(chr(v[0])) + "-" + re.escape(chr(v[1])))
            elif o is c.CATEGORY and str(v) in _CATEGORIES:
                parts.append(_CATEGORIES[str(v)])
            else:
                return None
        return "[" + "".join(parts) + "]" if parts and parts != ["^"] else None
    return None


def _lead(items, c, flags):
    """(literals, class) when the pattern opens with single-character items (repeated or
    not, after any zero-width ones) and then a part with known start literals."""
    classes = []
    for k, (op, av) in enumerate(items):
        if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
            continue
        rest = _seq(items[k:], c)
        lits = rest.start
        if classes and lits and max(_char_cost(x[0]) for x in lits) <= 3 and _weight(lits)[0] > 0:
            try:
                return lits, re.compile("|".join(classes), flags & ~re.VERBOSE)
            except re.error:
                return None, None
        single = av[2] if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) else [(op, av)]
        if len(single) != 1 or _char_class(*single[0], c) is None:
            return None, None
        classes.append(_char_class(*single[0], c))
    return None, None


def _tail(parsed, c):
    """(literals, width): a run of literal parts of the top-level sequence after which at
    most ``width`` characters follow, with the smallest such width."""
    from re import _parser as p

    items = list(parsed.data)
    best = None
    run = None
    for k, (op, av) in enumerate(items):
        part = _item(op, av, c)
        if part.exact is None:
            run = None
            continue
        run = part.exact if run is None else (_cross(run, part.exact) or part.exact)
        if not run or "" in run or _weight(run)[0] == 0 or max(_char_cost(x[0]) for x in run) > 3:
            continue
        width = p.SubPattern(parsed.state, items[k + 1:]).getwidth()[1]
        if width < 1000 and (best is None or width < best[1]):
            best = (tuple(sorted(run)), width)
    return best or (None, 0)


_SPACES = "".join(chr(i) for i in range(0x3001) if chr(i).isspace())


def _end_classes(items, c):
    """(class sources, required) for the last non-white-space character of a match of the
    sequence ``items``: ``required`` means every match has one. None if unknown."""
    out = []
    for op, av in reversed(items):
        got = _end_item(op, av, c)
        if got is None:
            return None
        classes, required = got
        out += classes
        if required:
            return out, True
    return out, False


def _end_item(op, av, c):
    if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
        return [], False
    src = _char_class(op, av, c)
    if src is not None:
        try:
            cls = re.compile(src)
        except re.error:
            return None
        spaces = [ch for ch in _SPACES if cls.match(ch)]
        if not spaces:
            return [src], True
        # White space only (" ", \s) adds nothing; a class of both kinds is unknown.
        return ([], False) if op is c.LITERAL or src in (r"\s", r"[\s]") else None
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        inner = _end_classes(av[2], c)
        return None if inner is None else (inner[0], inner[1] and av[0] >= 1)
    if op is c.SUBPATTERN:
        return None if av[1] & re.IGNORECASE else _end_classes(av[3], c)
    if op is c.ATOMIC_GROUP:
        return _end_classes(av, c)
    if op is c.BRANCH:
        alts = [_end_classes(b, c) for b in av[1]]
        if any(a is None for a in alts):
            return None
        return [x for a in alts for x in a[0]], all(a[1] for a in alts)
    return None


def _plain(items, c) -> bool:
    for op, av in items:
        if op in (c.GROUPREF, c.GROUPREF_EXISTS):
            return False
        subs = []
        if op is c.SUBPATTERN:
            subs = [av[3]]
        elif op is c.ATOMIC_GROUP:
            subs = [av]
        elif op is c.BRANCH:
            subs = av[1]
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            subs = [av[2]]
        elif op in (c.ASSERT, c.ASSERT_NOT):
            subs = [av[1]]
        if not all(_plain(s, c) for s in subs):
            return False
    return True


def _lookbehind_chars(items, c) -> str | None:
    """The characters of a leading one-character lookbehind, ``(?<=[.!?])``, if the pattern
    opens with one: a match can then only start right after one of them."""
    if not items:
        return None
    op, av = items[0]
    if op is not c.ASSERT or av[0] != -1 or len(av[1]) != 1:
        return None
    sub_op, sub_av = av[1][0]
    if sub_op is c.LITERAL:
        return chr(sub_av)
    if sub_op is c.IN and len(sub_av) <= 12 and all(o is c.LITERAL for o, _ in sub_av):
        return "".join(chr(v) for _, v in sub_av)
    return None


# --- the scanner: which rule literals occur in a line -----------------------------------

# Capitals and symbols roughly by how often they start a word in Vietnamese news.
_FREQUENT = "TCNHBĐVLMPSGKDAQXRIEUO(Y"


def _trie_regex(words) -> re.Pattern:
    """One pattern matching any of ``words``, longest first at each position. Written as a
    trie so the engine picks the branch by the next character instead of trying them all."""
    root: dict = {}
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node) -> str:
        # The engine tries alternatives in order: common first characters first.
        order = sorted((ch for ch in node if ch), key=lambda ch: (_FREQUENT.find(ch) % 1000, ch))
        alts = [re.escape(ch) + build(node[ch]) for ch in order]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" in node:
            return "(?:" + body + ")?"
        return body

    return re.compile(build(root))


@dataclass(frozen=True, eq=False)
class ScopePlan:
    """The active rules of one scope, by rule number (see ``Scanner``)."""

    entries: dict  # rule number -> (rule, number, facts, derived search pattern or None)
    rules: int  # a bit per rule of the scope
    # Whole-line scopes: whether trying the rules one by one, in order, is the same as the
    # RuleSet's combined alternation (it is unless a rule refers to groups by number).
    one_by_one: bool
    combined: tuple | None  # the RuleSet's (pattern, names) for the scope
    by_mask: dict = field(default_factory=dict)  # rule bits -> alternation of just those rules

    def alternation(self, mask: int) -> re.Pattern | None:
        """One pattern trying the rules of ``mask`` in order (group ``r<number>`` names the
        rule), or None where that would not be the same as trying them one by one."""
        got = self.by_mask.get(mask, False)
        if got is False:
            parts = []
            for i, (rule, *_rest) in sorted(self.entries.items()):
                if not mask >> i & 1:
                    continue
                if not self.one_by_one or rule.pattern.flags & ~(re.IGNORECASE | re.UNICODE):
                    parts = None
                    break
                src = _unname(rule.pattern.pattern)
                if rule.pattern.flags & re.IGNORECASE:
                    src = f"(?i:{src})"
                parts.append(f"(?P<r{i}>{src})")
            try:
                got = re.compile("|".join(parts)) if parts else None
            except re.error:
                got = None
            if len(self.by_mask) > 256:
                self.by_mask.clear()
            self.by_mask[mask] = got
        return got


class Scanner:
    """Precheck data for the rules of one RuleSet, numbered in its order.

    ``scan(s)`` runs one regex over ``s`` and returns which rule literals occur in it (as
    bits) and where. Rule ``i`` owns three bits: ``i`` (one of its original ``prefixes``
    occurs), ``n + i`` (one of its start or lead literals occurs there) and ``2n + i``
    (one of its needed literals occurs). ``masks`` turns them into the rules that may
    match ``s``; a rule that cannot is never tried."""

    def __init__(self, rules: RuleSet):
        self.ruleset = rules
        self.n = len(rules.rules)
        self.full = (1 << self.n) - 1
        self.facts = [literal_facts(r.pattern) for r in rules.rules]
        self.number = {id(r): i for i, r in enumerate(rules.rules)}
        literals = self._literals()
        # The scan reports the longest literal at a position; the shorter ones there are its prefixes.
        self.bits = {w: _or(literals.get(w[:k], 0) for k in range(1, len(w) + 1)) for w in literals}
        self.pattern = _trie_regex(literals) if literals else None
        self.longest = max(map(len, literals), default=1)
        self.newline_literals = any("\n" in w for w in literals)
        self._rule_masks()
        # Caches of pure functions of rule-level data (never of an article's text).
        self._masks: dict[tuple, tuple] = {}
        self._end_misfits: dict[str, int] = {}
        self._active: dict[tuple, tuple] = {}
        self._covers: dict[int, tuple] = {}
        self._plans: dict[int, tuple] = {}

    def _literals(self) -> dict[str, int]:
        """Literal -> the bits it owns. Original prefixes led by a common character would
        stop the scan everywhere: those rules (``unscanned``) have their prefixes tested
        directly instead ("-" in text), where they matter."""
        n, rules = self.n, self.ruleset.rules
        own: dict[str, int] = {}
        for i, (r, f) in enumerate(zip(rules, self.facts)):
            for lits, bit in ((r.prefixes, 1 << i), (f.start or f.lead, 1 << (n + i)), (f.needed, 1 << (2 * n + i))):
                for lit in lits or ():
                    own[lit] = own.get(lit, 0) | bit
        self.unscanned = _or(1 << i for i, r in enumerate(rules)
                             if r.prefixes and any(_char_cost(p[0]) > 3 for p in r.prefixes))
        for i, r in enumerate(rules):
            if self.unscanned >> i & 1:
                for p in r.prefixes:
                    own[p] &= ~(1 << i)
        self._prefix_order = {i: [(p, min(p, key=_char_cost)) for p in sorted(r.prefixes, key=len)]
                              for i, r in enumerate(rules) if r.prefixes}
        # Prefixes with a line break never occur inside a line: test those on the whole text.
        self.multiline_prefixes = [(i, r.prefixes) for i, r in enumerate(rules)
                                   if r.prefixes and any("\n" in p for p in r.prefixes)]
        return {w: b for w, b in own.items() if b}

    def _rule_masks(self) -> None:
        """Bits of the rules that have each kind of fact."""
        facts = list(enumerate(self.facts))
        self.prefixed = _or(1 << i for i, r in enumerate(self.ruleset.rules) if r.prefixes is not None)
        self.with_start = _or(1 << i for i, f in facts if f.start)
        self.with_lead = _or(1 << i for i, f in facts if not f.start and f.lead)
        self.with_needed = _or(1 << i for i, f in facts if f.needed)
        self.with_tail = _or(1 << i for i, f in facts if f.tail)
        self.with_end = [(1 << i, f.end_class) for i, f in facts if f.end_class is not None]
        self.ends_at_end = _or(1 << i for i, f in facts if f.at_end and f.end_class is not None)
        self.by_width = sorted(((f.min_width, 1 << i) for i, f in facts if f.min_width > 1), reverse=True)
        self.widest = max((f.min_width for _, f in facts), default=0)

    def scan(self, s: str, pos: int = 0, stop: int | None = None) -> tuple[int, list]:
        """(bits of every literal in ``s``, [(position, bits of the literals starting there)]),
        for the positions from ``pos`` to ``stop``."""
        hits = []
        found = 0
        if self.pattern is not None:
            search, bits = self.pattern.search, self.bits
            m = search(s, pos)
            while m:
                p = m.start()
                if stop is not None and p >= stop:
                    break
                b = bits[m.group()]
                hits.append((p, b))
                found |= b
                m = search(s, p + 1)  # from the next character: literals may overlap
        return found, hits

    def scan_lines(self, text: str, lines: list[str]) -> list[tuple[int, list]]:
        """``scan`` of every line, with one regex pass over the whole text."""
        if self.newline_literals:
            return [self.scan(line) for line in lines]
        found, hits = self.scan(text)
        out = []
        k, start = 0, 0
        for line in lines:
            end = start + len(line)
            line_hits = []
            line_bits = 0
            while k < len(hits) and hits[k][0] < end:
                p, b = hits[k]
                line_hits.append((p - start, b))
                line_bits |= b
                k += 1
            out.append((line_bits, line_hits))
            start = end + 1
        return out

    def masks(self, s: str, found: int, hits: list) -> tuple[int, int, int, int]:
        """Bits of the rules that may match ``s``, given the literals in it, for each kind of
        call: (fullmatch, match at 0, search, search with the original prefix filter). For
        the ``unscanned`` rules the prefix filter is left to the caller."""
        size = len(s)
        at_zero = hits[0][1] if hits and hits[0][0] == 0 else 0
        k = size - 1
        while k >= 0 and s[k].isspace():
            k -= 1
        last = s[k] if k >= 0 else ""
        key = (found, at_zero, min(size, self.widest), last)
        got = self._masks.get(key)
        if got is None:
            n, full = self.n, self.full
            anywhere = (found >> n) & full
            base = full & (~self.with_lead | anywhere) & (~self.with_needed | (found >> 2 * n))
            for width, bit in self.by_width:  # too short for the rule
                if width <= size:
                    break
                base &= ~bit
            # Rules whose matches cannot end with the string's last character: never for a
            # whole-string match, nor anywhere for a pattern ending in $.
            misfits = self.end_misfits(last)
            base_at_end = base & ~(misfits & self.ends_at_end)
            search = base_at_end & (~self.with_start | anywhere)
            match = base_at_end & (~self.with_start | ((at_zero >> n) & full))
            whole = match & ~misfits
            got = (whole, match, search, search & (~(self.prefixed & ~self.unscanned) | found))
            if len(self._masks) > 65536:
                self._masks.clear()
            self._masks[key] = got
        tails = got[0] & self.with_tail
        if tails:  # whole-string matches need their tail literals near the end
            whole = got[0]
            while tails:
                low = tails & -tails
                f = self.facts[low.bit_length() - 1]
                if not any(s.find(lit, max(0, size - f.tail_width - len(lit))) >= 0 for lit in f.tail):
                    whole &= ~low
                tails ^= low
            got = (whole, *got[1:])
        return got

    def end_misfits(self, last: str) -> int:
        """Bits of the rules with an end class that ``last`` (a character, or "" for a
        string of white space only) is not in."""
        got = self._end_misfits.get(last)
        if got is None:
            got = _or(bit for bit, cls in self.with_end if not (last and cls.fullmatch(last)))
            self._end_misfits[last] = got
        return got

    def rescan_join(self, new: str, hits: list, vs: int, ve: int) -> list:
        """The hits of ``new``, which is a string with ``hits`` less its span [vs, ve):
        only literals that may cross the join are looked for again."""
        if self.pattern is None:
            return []
        a = max(0, vs - self.longest + 1)
        shift = ve - vs
        return ([h for h in hits if h[0] < a] + self.scan(new, a, vs)[1]
                + [(p - shift, b) for p, b in hits if p >= ve])

    def has_prefix(self, i: int, s: str) -> bool:
        """The original prefix test of rule ``i`` on ``s``. A prefix whose rarest character
        is absent is skipped: looking for one character is many times cheaper."""
        for p, rare in self._prefix_order[i]:
            if rare in s and p in s:
                return True
        return False

    def covers(self, rules: RuleSet) -> bool:
        """Whether every rule of ``rules`` is one of this scanner's."""
        got = self._covers.get(id(rules))
        if got is None or got[0] is not rules:
            got = self._covers[id(rules)] = (rules, all(id(r) in self.number for r in rules.rules))
        return got[1]

    def active(self, rules: RuleSet, text: str, line_bits: int) -> RuleSet:
        """The rules whose literal prefixes occur in the text, from the bits of the lines."""
        present = line_bits & self.prefixed
        for i, prefixes in self.multiline_prefixes:
            if any(p in text for p in prefixes):
                present |= 1 << i
        unknown = self.unscanned & ~present
        while unknown:
            low = unknown & -unknown
            if self.has_prefix(low.bit_length() - 1, text):
                present |= low
            unknown ^= low
        key = (id(rules), present)
        got = self._active.get(key)
        if got is None or got[0] is not rules:
            number = self.number
            mask = tuple(r.prefixes is None or bool(present >> number[id(r)] & 1) for r in rules.rules)
            if len(self._active) > 4096:
                self._active.clear()
            got = self._active[key] = (rules, rules if all(mask) else _subset(rules, mask))
        return got[1]

    def plans(self, active: RuleSet) -> dict[str, ScopePlan]:
        """Scope -> plan for a RuleSet of this scanner's rules (scopes without rules left out)."""
        got = self._plans.get(id(active))
        if got is None or got[0] is not active:
            if len(self._plans) > 1024:
                self._plans.clear()
            plans = {scope: self._plan(active, scope, rules) for scope, rules in active.by_scope.items() if rules}
            got = self._plans[id(active)] = (active, plans)
        return got[1]

    def _plan(self, active: RuleSet, scope: str, rules) -> ScopePlan:
        entries = {}
        for r in rules:
            i = self.number[id(r)]
            entries[i] = (r, i, self.facts[i], _after_lookbehind(r.pattern, self.facts[i]))
        combined = active.combined.get(scope)
        one_by_one = combined is None or combined[0] is None or all(_combines_plainly(r) for r in rules)
        return ScopePlan(entries, _or(1 << i for i in entries), one_by_one, combined)


def _or(values) -> int:
    out = 0
    for v in values:
        out |= v
    return out


def _combines_plainly(rule: Rule) -> bool:
    """The combined alternation tries the rules in order, so it picks the first rule that
    matches, unless renaming groups or renumbering them changed what a rule means."""
    f = literal_facts(rule.pattern)
    names = len(re.findall(r"\(\?P<[A-Za-z_]\w*>", rule.pattern.pattern))
    return f.plain and names == len(rule.pattern.groupindex) and "(?P=" not in rule.pattern.pattern


@lru_cache(maxsize=1024)
def _after_lookbehind_cached(pattern: re.Pattern, chars: str) -> re.Pattern | None:
    try:
        return re.compile(f"[{re.escape(chars)}](?:{pattern.pattern})", pattern.flags)
    except re.error:
        return None


def _after_lookbehind(pattern: re.Pattern, facts: LiteralFacts) -> re.Pattern | None:
    """For a pattern opening with ``(?<=[.!?])``: the same pattern behind a consuming
    ``[.!?]``, which the engine scans for quickly. A match of it at q means a match of the
    original at q + 1."""
    if not facts.lookbehind or not facts.plain or facts.min_width < 1:
        return None
    return _after_lookbehind_cached(pattern, facts.lookbehind)


@lru_cache(maxsize=64)
def scanner_for(rules: RuleSet) -> Scanner:
    return Scanner(rules)


@lru_cache(maxsize=8)
def scanner_for_profiles(extra_dirs: tuple[Path, ...] = ()) -> Scanner:
    """One scanner for the rules of every profile, so the rounds of an article share their
    line scans even when a round picks other profiles (see ``ruleset_for``)."""
    generic, specific = load_profiles(extra_dirs)
    return Scanner(ruleset_for(tuple(p.id for p in specific), extra_dirs))
