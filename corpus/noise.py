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
  everything to the end is noise (flattened footers and related lists);
- ``run``: whole lines, only as a run of ``min_run`` to ``max_run`` matching lines in a
  row, after a line that ends a sentence and before one that does not go on with it
  (related headlines or captions between paragraphs; one such line alone may be a
  subheading).

Patterns may use macros: ``{UP}`` an uppercase letter, ``{LO}`` a lowercase letter,
``{L}`` any letter, ``{NAME}`` a credit name (capitalised words), ``{DASH}``, ``{OUTLET}``
(the profile's outlet allowlist), ``{BOUND}`` a sentence or segment boundary before the match,
``{CONNECTIVE}`` a word that opens a sentence carrying the story on (for ``caption_not``).
A named group ``value`` is lifted into the rule's ``field`` (dateline, attribution).

Speed: ``literal_facts`` derives from each pattern what every match must contain (literals
it starts with or contains, where it may start or end), and ``Scanner`` finds those literals
in a line with one regex pass, so the cleaner only calls the regexes that can match. Facts
about where a match can start (after a lookbehind's characters, within a run of characters
before a literal, after the last character a ``$``-anchored pattern cannot take) let the
cleaner try a rule only there, and a rule without literals gets one search over the whole
text (``text_search``) instead of one per line. Every fact is sound: it only ever skips a
call that cannot match (tests/test_noise_engine.py checks them against plain regex calls).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from .resources import profiles_dir

SCOPES = ("line", "lead", "tail", "span", "lead-span", "tail-span", "block", "tail-cut", "run")
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
# thế..."), and common sentence openers and kinship words (Chị, Cô, Bác...) never continue
# a name.
_NOT_NAME = "(?!(?:Theo|Tại|Trong|Sau|Khi|Ngày|Sáng|Chiều|Tối|Đêm|Trưa|Đây|Đó|Các|Những|Một|Ông|Bà|Hiện|Vào|Với|Từ|Cũng|Nhưng|Tuy|Do|Vì|Năm|Tháng|Lúc|Hôm|Nếu|Để|Còn|Cùng|Chị|Cô|Chú|Bác|Cụ|Cháu|Em)(?![\\w]))"
_END = "(?! (?:" + LO + "|\\d))"
_TITLE = f"(?:{UP}{LO}+(?!{LO}){_END})"
_CAPS = f"(?:{UP}+(?!{LO}){_END})"
_INIT = f"(?:{UP}\\.(?:{UP}(?:\\.|(?!{LO})))*{_END})"  # "D.H.Ông ...": the Ô of "Ông" is no initial
_NAME_TOKEN = f"(?:{_TITLE}|{_CAPS}|{_INIT})"
# One name keeps one case: Title-case words ("Gia Minh") or capitals ("NGỌC PHƯỢNG", "AFP"),
# so "Ảnh: Gia Minh WHO - ..." stops before the acronym that opens the next sentence.
# At most four tokens: Vietnamese names have two to four syllables. An initial runs
# straight into the name ("Đ.Tuỳ"). Five or more capitalised words in a row, or four and
# then a lowercase word, are a name and then a sentence that opens with a name or place
# ("Video: Đức Huy Đường Lương Định Của (quận 2) ...", "Ảnh: Ngọc Thành Việt Nam hiện
# ..."): the name is two words, the usual credit (a pen name, or a family and a given
# name: "Ảnh: Nguyễn Đông Tết Giáp Thìn 2024 ..."). Of four then a lowercase word, a name
# that opens with a family name keeps three ("Ảnh: Nguyễn Minh Đức Quán có ..."). Words
# that never continue a name end the run ("Ảnh: Đỗ Thành Đạt Các phụ kiện ...").
_SURNAME = ("(?:Nguyễn|Trần|Lê|Phạm|Hoàng|Huỳnh|Phan|Vũ|Võ|Đặng|Bùi|Đỗ|Hồ|Ngô|Dương|Lý|Đinh|Trịnh|Đoàn|"
            "Trương|Đào|Lương|Tạ|Lưu|Quách|Vương|Phùng|Triệu|Nghiêm)(?!\\w)")
_RUN5 = f"(?={UP}{LO}*(?: {_NOT_NAME}{UP}{LO}*){{4}})"
_RUN4 = f"(?={UP}{LO}*(?: {_NOT_NAME}{UP}{LO}*){{3}} {LO})"
_WORDS = (f"(?:{_RUN5}{_TITLE} {_NOT_NAME}{_TITLE}"
          f"|(?!{_SURNAME}){_RUN4}{_TITLE} {_NOT_NAME}{_TITLE}"
          f"|(?:{_TITLE}|{_INIT})(?:(?: |(?<=\\.)){_NOT_NAME}(?:{_TITLE}|{_INIT})){{0,3}}"
          f"|(?:{_CAPS}|{_INIT})(?:(?: |\\.|(?<=\\.)){_NOT_NAME}(?:{_CAPS}|{_INIT})){{0,3}})")
NAME = f"{_WORDS}(?: ?/ ?{_NOT_NAME}{_WORDS}| ?[-–] ?{_NOT_NAME}{_NAME_TOKEN}(?: {_NOT_NAME}{_NAME_TOKEN}){{1,4}}){{0,3}}"
DASH = "[-–—]"
# Characters after which a span rule with ``boundary = true`` may start.
BOUNDARY_CHARS = frozenset(" \t\n.!?;:\"”’)]|–—-")

# Words that open a sentence carrying the story on ("Qua đó, ...", "Tuy nhiên ..."): body
# text, never a photo caption.
CONNECTIVE = ("(?:Qua đó|Theo đó|Tuy nhiên|Do đó|Vì vậy|Vì thế|Ngoài ra|Bên cạnh đó|Trong khi đó|Trước đó|"
              "Sau đó|Đồng thời|Cũng theo|Theo|Tuy vậy|Mặt khác|Trong đó|Hiện nay|Như vậy|Từ đó|Thời điểm này|"
              "Thời điểm đó|Lúc này|Lúc đó|Khi đó|Ngay sau đó|Cùng lúc đó)(?![\\w])")
MACROS = {"UP": UP, "LO": LO, "L": L, "NAME": NAME, "DASH": DASH, "CONNECTIVE": CONNECTIVE}


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
    caption_not: re.Pattern | None = None  # ... unless that sentence starts with this (a connective: body)
    caption_required: bool = False  # the match is noise only with its caption (a date ending one)
    boundary: bool = False  # span rules: a sentence/segment boundary must precede the match
    absorb_dash: bool = False  # span rules: also remove a " - " right before the match
    headline_before: bool = False  # line rules: also the headline-like line just before
    headline_after: bool = False  # line rules: also the headline-like lines just after
    extent: str = "to-end"  # block rules: "to-end", or "headlines" (the header and the headline lines after it)
    min_position: float = 0.0  # block / tail-cut: earliest relative position in the text
    min_run: int = 2  # run rules: the fewest lines in a row that count as a run
    max_run: int = 8  # run rules: the most (a longer run is a list or a poem)
    at_end: bool = False  # run rules: the run must reach the last line of the article
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
        min_run, max_run = r.get("min_run", 2), r.get("max_run", 8)
        if not (type(min_run) is int and type(max_run) is int and 1 <= min_run <= max_run):
            raise ProfileError(f"{where}: min_run and max_run must be whole numbers, 1 <= min_run <= max_run")
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
                caption_not=_compile_option(r, "caption_not", all_outlets, where),
                caption_required=bool(r.get("caption_required", False)),
                boundary=bool(r.get("boundary", False)),
                absorb_dash=bool(r.get("absorb_dash", False)),
                headline_before=bool(r.get("headline_before", False)),
                headline_after=bool(r.get("headline_after", False)),
                extent=r.get("extent", "to-end"),
                min_position=float(r.get("min_position", 0.5 if r["scope"] in ("block", "tail-cut") else 0.0)),
                min_run=min_run,
                max_run=max_run,
                at_end=bool(r.get("at_end", False)),
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


def _compile_option(r: dict, key: str, outlets: tuple[str, ...], where: str) -> re.Pattern | None:
    if key not in r:
        return None
    try:
        return re.compile(_expand(r[key], outlets, where))
    except re.error as exc:
        raise ProfileError(f"{where}: bad {key}: {exc}") from None


@dataclass(frozen=True, eq=False)
class RuleSet:
    """The rules for one article, grouped by scope. The combined pattern of a scope (one
    alternation of its rules) is compiled on first use: most rule sets never need it, and
    compiling it costs tens of milliseconds."""

    rules: tuple[Rule, ...]
    by_scope: dict = field(default_factory=dict)
    combined: dict = field(default_factory=dict)  # scope -> (pattern, {group name: rule}), filled lazily

    @classmethod
    def of(cls, rules: tuple[Rule, ...]) -> "RuleSet":
        by_scope: dict[str, list[Rule]] = {s: [] for s in SCOPES}
        for r in rules:
            by_scope[r.scope].append(r)
        return cls(tuple(rules), {k: tuple(v) for k, v in by_scope.items()}, {})

    def combined_for(self, scope: str) -> tuple | None:
        """(pattern or None, {group name: rule}) for a scope with rules, else None."""
        got = self.combined.get(scope)
        if got is None:
            rs = self.by_scope.get(scope)
            if not rs:
                return None
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
            got = self.combined[scope] = (pat, names)
        return got


def literal_prefixes(pattern: str, limit: int = 24) -> tuple[str, ...] | None:
    """The literal strings every match of ``pattern`` starts with, or None if it can start
    with anything. Uses the stdlib regex parser, so rules need no hand-written triggers."""
    from re import _constants as c, _parser as p

    def walk(items) -> tuple[list[str], bool] | None:
        """(prefixes of every match of the sequence, whether they are whole matches), or
        None. Only a whole match may be followed by what comes after it: a group that ends
        in a non-literal ("(?:ab\\d)c") gives "ab", never "abc"."""
        out = [""]
        for op, av in items:
            if op is c.LITERAL:
                out = [o + chr(av) for o in out]
                continue
            if op in (c.AT, c.ASSERT, c.ASSERT_NOT) and out == [""]:
                continue  # anchors and look-arounds before the first literal
            whole = False
            if op is c.SUBPATTERN:
                if av[1] & re.IGNORECASE:  # (?i:...): its literals are not literal
                    break
                got = walk(av[-1])
                sub, whole = got if got is not None else (None, False)
            elif op is c.BRANCH:
                sub, whole = [], True
                for branch in av[1]:
                    got = walk(branch)
                    if got is None:
                        sub = None
                        break
                    sub += got[0]
                    whole = whole and got[1]
            elif op is c.IN and len(av) <= 8 and all(o is c.LITERAL for o, _ in av):
                sub, whole = [chr(v) for _, v in av], True
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:
                got = walk(av[2])
                if got is not None:
                    out = [o + x for o in out for x in got[0]]
                break
            else:
                sub = None
            if sub is None:
                break
            out = [o + x for o in out for x in sub]
            if len(out) > limit:
                return None
            if not whole or any(x == "" for x in sub):
                break
        else:
            return out, True
        return out, False

    try:
        parsed = p.parse(pattern)
        if parsed.state.flags & re.IGNORECASE:  # a global (?i)
            return None
        got = walk(parsed.data)
    except Exception:  # an exotic construct: no prefilter, never a wrong one
        return None
    if not got or not got[0] or any(g == "" for g in got[0]):
        return None
    # A short prefix is as good a prefilter and dedupes alternatives ("Trình duyệt ...").
    return tuple(sorted({g[:6] for g in got[0]}))


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
    if ch in "-)'\"":
        return 5
    # Colons and slashes are rare in running text (times, dates, credits, links): worth a
    # literal, like digits.
    return 3 if ch.isdigit() or ch in ":/" else 1


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
    exact, start, candidates = _seq_parts(items, c)
    return _Lit(exact, start, _best(*candidates))


def _seq_parts(items, c):
    """(exact, start, candidate needed sets) of a sequence: every match contains one
    literal of each candidate set."""
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
    return exact, start, candidates


@dataclass(frozen=True)
class LiteralFacts:
    start: tuple[str, ...] | None  # every match starts with one of these
    needed: tuple[str, ...] | None  # every match contains one of these
    min_width: int
    # Every match starts right after what ``after`` = (source, width, also_at_0) matches,
    # from the pattern's opening lookbehinds (``(?<=[.!?…”] )``, or alternatives of them and
    # ``^``); alternatives needing a line break are left out, as the engine searches lines.
    after: tuple | None
    plain: bool  # no group references or conditionals (safe to run rule by rule)
    # Every match is some characters of ``lead_class`` (at most ``lead_width`` of them) then
    # one of ``lead`` (``\s*\(?Theo``, or a lookahead's literals): a match starts in the
    # run of such characters right before an occurrence. ``lead_stop`` finds a character
    # outside ``lead_class`` (None if unknown), which no match can run across before one.
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
    lead_width: int = 0
    lead_stop: re.Pattern | None = None
    # A pattern ending in ``$`` made of single characters only (``\s+{UP}+(?:\s+{UP}+)*\s*$``):
    # ``tail_stop`` finds a character it never takes, so a match starts after the last one.
    tail_stop: re.Pattern | None = None
    lead_least: int = 0  # the fewest lead characters before a lead literal
    needed2: tuple[str, ...] | None = None  # every match also contains one of these


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
    lead, lead_class, lead_width, lead_stop, lead_least = _lead(parsed.data, c, pattern.flags)
    tail, tail_width = _tail(parsed, c)
    end = _end_classes(parsed.data, c)
    end_class = None
    if end and end[1]:
        try:
            end_class = re.compile("|".join(end[0]), pattern.flags & ~re.VERBOSE)
        except re.error:
            end_class = None
    at_end = bool(parsed.data) and parsed.data[-1][0] is c.AT and parsed.data[-1][1] in (c.AT_END, c.AT_END_STRING)
    tail_stop = _run_stop(parsed.data, c) if at_end else None
    # Start literals are positions too, so they cannot be cut; only rare first characters pay.
    start = info.start if info.start and max(_char_cost(x[0]) for x in info.start) <= 3 and \
        _weight(info.start)[0] > 0 else None
    needed = _best(info.needed, info.exact, info.start)
    # A second needed set from another part of the pattern ("Ảnh" ... ":"): a line must
    # hold one literal of each.
    others = [x for x in _seq_parts(parsed.data, c)[2] if x and needed and not _related(_anchored(x), needed)]
    needed2 = _best(*others) if needed else None
    return LiteralFacts(cut(start), cut(needed), lo,
                        _after(parsed.data, c), plain, cut(lead), lead_class,
                        tail, tail_width, end_class, at_end, lead_width, lead_stop, tail_stop, lead_least,
                        cut(needed2))


def _related(a, b) -> bool:
    """Whether every literal of ``a`` is within one of ``b`` or holds one (no new fact)."""
    return all(any(x in y or y in x for y in b) for x in a)


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
    """(literals, class, width, stop, least) when the pattern opens with a part that takes single
    characters only (``\\s*``, ``{UP}[^.!?]{12,240}?``, among zero-width items) and then a
    part with known start literals, or a lookahead with them; (None, None, 0, None, 0)
    otherwise. ``width`` and ``least`` are the most and the fewest characters the opening
    part can take, ``stop`` a pattern finding a character it never takes (None if unknown)."""
    from re import _constants as const, _parser as p

    nothing = (None, None, 0, None, 0)
    classes, sets, width, least = [], [], 0, 0
    good = lambda lits: lits and max(_char_cost(x[0]) for x in lits) <= 3 and _weight(lits)[0] > 0
    for k, (op, av) in enumerate(items):
        lits = None
        zero = _zero_width(op, av)
        if op is c.ASSERT and av[0] == 1 and classes:  # a lookahead: its literals sit right here
            inner = _seq(av[1], c)
            lits = inner.start or (inner.exact if inner.exact and "" not in inner.exact else None)
        elif not zero and classes:
            lits = _seq(items[k:], c).start
        if classes and lits and not good(lits):
            # " Sau đó": a common first character joins the run, the rest is the literal.
            firsts = {x[0] for x in lits}
            if len(firsts) <= 8 and all(len(x) > 1 for x in lits) and good({x[1:] for x in lits}):
                classes.append("[" + "".join(re.escape(ch) for ch in sorted(firsts)) + "]")
                sets.append((False, frozenset(firsts)))
                lits = frozenset(x[1:] for x in lits)
                width += 1
                least += 1
        if classes and good(lits):
            try:
                return lits, re.compile("|".join(classes), flags & ~re.VERBOSE), width, _stop(sets), least
            except re.error:
                return nothing
        if zero:
            continue
        leaves = _leaves(op, av, c)
        if not leaves:
            return nothing
        for leaf in leaves:
            src = _char_class(*leaf, c)
            if src is None:
                return nothing
            classes.append(src)
            sets.append(None if flags & re.IGNORECASE else _char_set(*leaf, c))
        try:
            lo, hi = p.SubPattern(p.State(), [(op, av)]).getwidth()
            width += min(hi, const.MAXREPEAT)
            least += lo
        except Exception:
            width = const.MAXREPEAT
    return nothing


_SINGLE = ("LITERAL", "NOT_LITERAL", "ANY", "IN", "CATEGORY")


def _leaves(op, av, c) -> list | None:
    """The single-character items an item is made of (``(?: [^ ]+){4,40}`` -> " ", [^ ]), or
    None if it holds anything else (zero-width items inside are left out)."""
    if str(op) in _SINGLE:
        return [(op, av)]
    if _zero_width(op, av):
        return []
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        subs = [av[2]]
    elif op is c.SUBPATTERN:
        if av[1] or av[2]:  # inline flags change what the characters mean
            return None
        subs = [av[3]]
    elif op is c.ATOMIC_GROUP:
        subs = [av]
    elif op is c.BRANCH:
        subs = av[1]
    else:
        return None
    out = []
    for sub in subs:
        for o, v in sub:
            got = _leaves(o, v, c)
            if got is None:
                return None
            out += got
    return out


def _run_stop(items, c) -> re.Pattern | None:
    """For a pattern made of single characters and zero-width items only: ``_stop`` of them."""
    sets = []
    for op, av in items:
        if _zero_width(op, av):
            continue
        leaves = _leaves(op, av, c)
        if leaves is None:
            return None
        sets += [_char_set(*leaf, c) for leaf in leaves]
    return _stop(sets)


def _zero_width(op, av) -> bool:
    from re import _parser as p

    try:
        return p.SubPattern(p.State(), [(op, av)]).getwidth() == (0, 0)
    except Exception:
        return False


def _char_set(op, av, c):
    """(negated, characters): the characters a single-character item takes are
    ``characters``, or all but them if ``negated``; None if unknown (``\\w``, wide ranges). Case-sensitive patterns only."""
    if op is c.LITERAL:
        return False, frozenset(chr(av))
    if op is c.NOT_LITERAL:
        return True, frozenset(chr(av))
    if op is c.ANY:
        return None  # depends on DOTALL; not worth it
    if op is c.CATEGORY:
        if av is c.CATEGORY_SPACE:
            return False, frozenset(_SPACES)
        if av is c.CATEGORY_NOT_SPACE:
            return True, frozenset(_SPACES)
        if av is c.CATEGORY_DIGIT:
            return False, _digits()
        if av is c.CATEGORY_NOT_DIGIT:
            return True, _digits()
        return None
    if op is c.IN:
        out = (False, frozenset())
        negate = False
        for o, v in av:
            if o is c.NEGATE:
                negate = True
                continue
            if o is c.RANGE:
                if v[1] - v[0] >= 4096:
                    return None
                member = (False, frozenset(chr(x) for x in range(v[0], v[1] + 1)))
            else:
                member = _char_set(o, v, c)
            if member is None:
                return None
            out = _union(out, member)
        return (not out[0], out[1]) if negate else out
    return None


@lru_cache(maxsize=1)
def _digits() -> frozenset:
    """What ``\\d`` matches in a str pattern: every Unicode decimal digit."""
    return frozenset(ch for ch in map(chr, range(0x110000)) if ch.isdecimal())


def _union(a, b):
    (na, ca), (nb, cb) = a, b
    if na and nb:
        return True, ca & cb
    if na:
        return True, ca - cb
    if nb:
        return True, cb - ca
    return False, ca | cb


def _stop(sets) -> re.Pattern | None:
    """A pattern for one character that no item of ``sets`` takes, or None."""
    if not sets or any(x is None for x in sets):
        return None
    out = (False, frozenset())
    for x in sets:
        out = _union(out, x)
    negated, chars = out
    if negated:  # every character but ``chars`` is taken
        if not chars:
            return None
        src = "[" + "".join(re.escape(ch) for ch in sorted(chars)) + "]"
    else:
        src = "[^" + "".join(re.escape(ch) for ch in sorted(chars)) + "]"
    try:
        return re.compile(src)
    except re.error:
        return None


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


def _after(items, c) -> tuple | None:
    """(source, width, also_at_0) when the pattern opens with a lookbehind on a fixed run of
    single characters (``(?<=[.!?])``), or alternatives of such lookbehinds and ``^``, maybe
    after single characters it looks back over (`` (?<=[.!?] )``): every match then starts
    right after a match of ``source`` (all of ``width`` characters), or at 0.
    Alternatives needing a line break are left out (the engine searches single lines), so
    the facts hold for strings without one."""
    consumed = 0  # single characters the pattern takes before its lookbehind
    for op, av in items:
        if str(op) not in _SINGLE:
            break
        consumed += 1
    if consumed >= len(items):
        return None
    op, av = items[consumed]
    if op is c.SUBPATTERN and len(av[3]) == 1 and not av[1] and not av[2]:
        op, av = list(av[3])[0]
    alts = [list(b) for b in av[1]] if op is c.BRANCH else [[(op, av)]]
    sources, widths, at_start = [], set(), False
    for alt in alts:
        if len(alt) != 1:
            return None
        aop, aav = alt[0]
        if aop is c.AT and aav in (c.AT_BEGINNING, c.AT_BEGINNING_STRING):
            at_start = at_start or not consumed  # after a character, ^ never holds
            continue
        if aop is not c.ASSERT or aav[0] != -1:
            return None
        body = list(aav[1])
        if any(o is c.LITERAL and v == 10 for o, v in body):
            continue  # (?<=\n): never inside a line
        srcs = [_char_class(o, v, c) for o, v in body]
        if None in srcs or len(srcs) <= consumed:
            return None
        # The look back covers the characters taken before it, then what precedes the match.
        sources.append("".join(srcs[:len(srcs) - consumed]))
        widths.add(len(srcs) - consumed)
    if len(widths) > 1 or not (sources or at_start):
        return None
    return ("|".join(sources) if sources else None), (widths.pop() if widths else 0), at_start


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
    by_bits: dict = field(default_factory=dict)  # rule bits -> their entries, in rule order

    def entries_of(self, mask: int) -> tuple:
        """The entries of the rules of ``mask``, in rule order."""
        got = self.by_bits.get(mask)
        if got is None:
            got = tuple(e for i, e in sorted(self.entries.items()) if mask >> i & 1)
            if len(self.by_bits) > 4096:
                self.by_bits.clear()
            self.by_bits[mask] = got
        return got

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
    bits) and where. Rule ``i`` owns four bits: ``i`` (one of its original ``prefixes``
    occurs), ``n + i`` (one of its start or lead literals occurs there), ``2n + i`` (one
    of its needed literals occurs) and ``3n + i`` (one of its second needed set).
    ``masks`` turns them into the rules that may match ``s``; a rule that cannot is never
    tried."""

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
        firsts = {w[0] for w in literals}
        self.inner = frozenset(w for w in literals if any(ch in firsts for ch in w[1:]))
        self.newline_literals = any("\n" in w for w in literals)
        self._rule_masks()
        # Rules without literals to look for, tried on many lines: a search over the whole
        # text says which lines they may match first.
        self.text_searches = {}
        for i, (r, f) in enumerate(zip(rules.rules, self.facts)):
            if r.scope in ("span", "tail-cut") and not (f.start or f.lead or f.needed or f.needed2 or r.prefixes):
                got = text_search(r, f)
                if got is not None:
                    self.text_searches[i] = got
        self.textual = _or(1 << i for i in self.text_searches)
        # Caches of pure functions of rule-level data (never of an article's text).
        self._masks: dict[tuple, tuple] = {}
        self._end_misfits: dict[str, int] = {}
        self._active: dict[tuple, tuple] = {}
        self._covers: dict[int, tuple] = {}
        self._plans: dict[int, tuple] = {}
        self._static: dict[int, tuple] = {}

    def _literals(self) -> dict[str, int]:
        """Literal -> the bits it owns. Original prefixes led by a common character would
        stop the scan everywhere: those rules (``unscanned``) have their prefixes tested
        directly instead ("-" in text), where they matter."""
        n, rules = self.n, self.ruleset.rules
        own: dict[str, int] = {}
        for i, (r, f) in enumerate(zip(rules, self.facts)):
            for lits, bit in ((r.prefixes, 1 << i), (f.start or f.lead, 1 << (n + i)), (f.needed, 1 << (2 * n + i)),
                              (f.needed2, 1 << (3 * n + i))):
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
        # Unscanned rules whose prefixes hold no white space: a text made from another by
        # cutting spans out and laying it out again (joins are white space) holds one only if
        # the other did, so the rounds of an article need not look for them again.
        self.spaceless = _or(1 << i for i, r in enumerate(rules) if self.unscanned >> i & 1
                             and not any(ch.isspace() for p in r.prefixes for ch in p))
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
        self.with_needed2 = _or(1 << i for i, f in facts if f.needed2)
        # Only whole-line scopes look at whole-string masks: their tail literals are checked.
        whole = ("line", "lead", "tail", "block", "run")
        self.with_tail = _or(1 << i for i, f in facts if f.tail and self.ruleset.rules[i].scope in whole)
        self.tail_search = {i: (_alternatives(f.tail), f.tail_width + max(map(len, f.tail)))
                            for i, f in facts if self.with_tail >> i & 1}
        self.with_end = [(1 << i, f.end_class) for i, f in facts if f.end_class is not None]
        self.ends_at_end = _or(1 << i for i, f in facts if f.at_end and f.end_class is not None)
        self.by_width = sorted(((f.min_width, 1 << i) for i, f in facts if f.min_width > 1), reverse=True)
        self.widest = max((f.min_width for _, f in facts), default=0)

    def scan(self, s: str, pos: int = 0, stop: int | None = None) -> tuple[int, list]:
        """(bits of every literal in ``s``, [(position, bits of the literals starting there)]),
        for the positions from ``pos`` to ``stop``."""
        hits = []
        found = 0
        if self.pattern is None:
            return found, hits
        bits, inner, search = self.bits, self.inner, self.pattern.search
        # A literal starting before ``stop`` ends before this: the search need not go on.
        endpos = len(s) if stop is None else min(len(s), stop + self.longest - 1)
        # One C-level pass finds the literals that do not overlap; only inside a literal
        # that another may start in is each position looked at again.
        for m in self.pattern.finditer(s, pos, endpos):
            p = m.start()
            if stop is not None and p >= stop:
                break
            w = m.group()
            b = bits[w]
            hits.append((p, b))
            found |= b
            if w in inner:
                end = m.end()
                m = search(s, p + 1, endpos)
                while m and m.start() < end and (stop is None or m.start() < stop):
                    b = bits[m.group()]
                    hits.append((m.start(), b))
                    found |= b
                    m = search(s, m.start() + 1, endpos)
        return found, hits

    def line_infos(self, text: str, lines: list[str], by_line: dict) -> tuple[list, int]:
        """([(bits, hits, masks) of every line], bits of all lines). ``by_line`` keeps them by
        line text for the next rounds; an empty one means a first round, scanned with one
        regex pass over the whole text."""
        if by_line:
            infos = list(map(by_line.get, lines))
            for k, info in enumerate(infos):
                if info is None:
                    line = lines[k]
                    found, hits = self.scan(line)
                    infos[k] = by_line[line] = (found, hits, self.masks(line, found, hits))
        elif self.newline_literals:
            infos = []
            for line in lines:
                found, hits = self.scan(line)
                infos.append(by_line.setdefault(line, (found, hits, self.masks(line, found, hits))))
        else:
            infos = self._first_infos(lines, self.scan(text)[1], by_line)
        bits = 0
        for info in infos:
            bits |= info[0]
        return infos, bits

    def _first_infos(self, lines: list[str], hits: list, by_line: dict) -> list:
        """``line_infos`` from the hits of the whole text: split by line, with the masks
        cache looked up here (the common case) rather than through ``masks``."""
        cache, widest, with_tail, masks = self._masks, self.widest, self.with_tail, self.masks
        infos = []
        k, start, n = 0, 0, len(hits)
        for line in lines:
            end = start + len(line)
            if k < n and hits[k][0] < end:
                line_hits = []
                bits = 0
                while k < n and hits[k][0] < end:
                    p, b = hits[k]
                    line_hits.append((p - start, b))
                    bits |= b
                    k += 1
                at_zero = line_hits[0][1] if line_hits[0][0] == 0 else 0
            else:
                line_hits, bits, at_zero = _NO_HITS, 0, 0
            last = line[-1:]
            got = cache.get((bits, at_zero, min(len(line), widest), last)) if last and not last.isspace() else None
            if got is None or got[0] & with_tail:
                got = masks(line, bits, line_hits)
            info = by_line[line] = (bits, line_hits, got)
            infos.append(info)
            start = end + 1
        return infos

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
            base = (full & (~self.with_lead | anywhere) & (~self.with_needed | (found >> 2 * n))
                    & (~self.with_needed2 | (found >> 3 * n)))
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
                search, reach = self.tail_search[low.bit_length() - 1]
                # (From the reach of the longest literal: may keep a rule, never drops one.)
                if not search(s, max(0, size - reach)):
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

    def rescan_cuts(self, new: str, hits, spans: list, old_len: int) -> list:
        """``rescan_join`` for many cuts at once: the hits of ``new``, which is a string of
        length ``old_len`` with ``hits`` less its ``spans`` (sorted, not overlapping). Only
        literals that may cross a join are looked for again."""
        if self.pattern is None:
            return []
        longest = self.longest
        pieces, windows = [], []  # (old start, old end, shift) of what is kept; new spans to rescan
        pos = removed = 0
        for s, e in spans + [(old_len, old_len)]:
            if s > pos or s == old_len:
                pieces.append((pos, s, removed))
            join = s - removed  # where the piece after this cut starts in ``new``
            if s < old_len:
                lo = max(0, join - longest + 1)
                if windows and lo <= windows[-1][1]:
                    windows[-1][1] = join
                else:
                    windows.append([lo, join])
            removed += e - s
            pos = e
        out = []
        w, j = 0, 0
        for p, b in hits:
            while j < len(pieces) and p >= pieces[j][1]:
                j += 1
            if j == len(pieces) or p < pieces[j][0]:
                continue  # cut out
            q = p - pieces[j][2]
            while w < len(windows) and q >= windows[w][1]:
                w += 1
            if w < len(windows) and q >= windows[w][0]:
                continue  # looked for again below
            out.append((q, b))
        for lo, hi in windows:
            if hi > lo:
                out += self.scan(new, lo, hi)[1]
        out.sort()
        return out

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

    def present(self, text: str, line_bits: int, absent: int = 0) -> int:
        """Bits of the rules whose literal prefixes occur in the text, from the bits of the
        lines. ``absent``: rules known to be absent (see ``spaceless``)."""
        present = line_bits & self.prefixed
        for i, prefixes in self.multiline_prefixes:
            if any(p in text for p in prefixes):
                present |= 1 << i
        unknown = self.unscanned & ~present & ~absent
        while unknown:
            low = unknown & -unknown
            if self.has_prefix(low.bit_length() - 1, text):
                present |= low
            unknown ^= low
        return present

    def active(self, rules: RuleSet, text: str, line_bits: int, present: int | None = None) -> RuleSet:
        """The rules whose literal prefixes occur in the text, from the bits of the lines."""
        if present is None:
            present = self.present(text, line_bits)
        key = (id(rules), present)
        got = self._active.get(key)
        if got is None or got[0] is not rules:
            number = self.number
            mask = tuple(r.prefixes is None or bool(present >> number[id(r)] & 1) for r in rules.rules)
            if len(self._active) > 4096:
                self._active.clear()
            got = self._active[key] = (rules, rules if all(mask) else _subset(rules, mask))
        return got[1]

    def bits_of(self, rules: RuleSet) -> int:
        """Bits of the rules of ``rules`` (set up by ``setup``)."""
        return self._static[id(rules)][2]

    def setup(self, rules: RuleSet, text: str, line_bits: int, absent: int = 0) -> tuple[dict, dict, bool, int]:
        """(scope -> ScopePlan, scope -> bits of its active rules, whether the plans are
        those of all of ``rules``, ``present``) for ``rules`` on ``text``: the active rules
        are those whose literal prefixes occur in it, and those without prefixes.

        When every rule keeps its meaning inside a combined alternation (the usual case),
        the plans of all of ``rules`` serve every text, with the inactive rules masked out.
        Otherwise each set of active rules gets its own plans, as the combined pattern of
        just those rules is what the original ran."""
        got = self._static.get(id(rules))
        if got is None or got[0] is not rules:
            plain = all(_combines_plainly(r) for r in rules.rules)
            plans = self.plans(rules) if plain else None
            number = self.number
            mine = _or(1 << number[id(r)] for r in rules.rules)
            unprefixed = _or(1 << number[id(r)] for r in rules.rules if r.prefixes is None)
            got = self._static[id(rules)] = (rules, plans, mine, unprefixed)
        _, plans, mine, unprefixed = got
        present = self.present(text, line_bits, absent)
        if plans is None:
            plans = self.plans(self.active(rules, text, line_bits, present))
            return plans, {scope: plan.rules for scope, plan in plans.items()}, False, present
        active = mine & (unprefixed | present)
        return plans, {scope: plan.rules & active for scope, plan in plans.items()}, True, present

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
            entries[i] = (r, i, self.facts[i], _after_search(r.pattern, self.facts[i]))
        if all(_combines_plainly(r) for r in rules):
            return ScopePlan(entries, _or(1 << i for i in entries), True, None)
        combined = active.combined_for(scope)
        one_by_one = combined is None or combined[0] is None
        return ScopePlan(entries, _or(1 << i for i in entries), one_by_one, combined)


_NO_HITS = ()  # the hits of a line without literals (shared, never mutated)


def _alternatives(words) -> "callable":
    """``search(s, pos)`` for any of ``words``."""
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))).search


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
def _after_search_cached(pattern: re.Pattern, source: str | None, width: int, at_start: bool) -> tuple | None:
    if source is None:
        return None, width, at_start, None
    try:
        return (re.compile(f"(?:{source})(?:{pattern.pattern})", pattern.flags), width, at_start,
                re.compile(f"(?:{source})", pattern.flags))
    except re.error:
        return None


def _after_search(pattern: re.Pattern, facts: LiteralFacts) -> tuple | None:
    """For a pattern opening with lookbehinds (``(?<=[.!?])X``, see ``LiteralFacts.after``):
    (the same pattern behind what the lookbehinds look at, consumed, which the regex engine
    scans for quickly, or None if only ``^`` is left; the width of that; whether a match may
    start at 0; a pattern for just what the lookbehinds look at). A match of the search
    pattern at q means a match of the original at q + width. Only for strings without a
    line break."""
    if not facts.after or not facts.plain or facts.min_width < 1:
        return None
    return _after_search_cached(pattern, *facts.after)


@lru_cache(maxsize=1024)
def _text_search_cached(pattern: re.Pattern, after: tuple | None) -> tuple | None:
    from re import _constants as c, _parser as p

    try:
        if not _line_local(p.parse(pattern.pattern, pattern.flags).data, c, pattern.flags):
            return None
        flags = pattern.flags | re.MULTILINE
        if after and after[0] is not None and not after[2]:
            return re.compile(f"(?:{after[0]})(?:{pattern.pattern})", flags), after[1]
        return re.compile(pattern.pattern, flags), 0
    except (re.error, RecursionError):
        return None


def text_search(rule: Rule, facts: LiteralFacts) -> tuple | None:
    """(pattern, width) that finds, over a whole text, every place where ``rule`` matches
    one of its lines (at a match's start less ``width``), and maybe more; None if that does
    not hold for the pattern. With ``^`` and ``$`` at line breaks (MULTILINE) the text
    gives each line what the line alone gives, since the pattern only looks forward with
    positive constructs, and what its negative ones look at never includes a line break."""
    return _text_search_cached(rule.pattern, facts.after)


def _line_local(items, c, flags, negative: bool = False) -> bool:
    for op, av in items:
        if str(op) in _SINGLE:
            if negative and _may_take_newline(op, av, c, flags):
                return False
        elif op is c.AT:
            if av not in (c.AT_BEGINNING, c.AT_END, c.AT_BOUNDARY, c.AT_NON_BOUNDARY):
                return False
        elif op is c.BRANCH:
            if not all(_line_local(b, c, flags, negative) for b in av[1]):
                return False
        elif op is c.SUBPATTERN:
            if av[1] or av[2] or not _line_local(av[3], c, flags, negative):
                return False
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):  # not possessive: it must be free to give back
            if not _line_local(av[2], c, flags, negative):
                return False
        elif op is c.ASSERT:
            if not _line_local(av[1], c, flags, negative):
                return False
        elif op is c.ASSERT_NOT:
            if not _line_local(av[1], c, flags, True):
                return False
        else:  # atomic groups, group references, conditionals
            return False
    return True


def _may_take_newline(op, av, c, flags) -> bool:
    if op is c.LITERAL:
        return av == 10
    if op is c.ANY:
        return bool(flags & re.DOTALL)
    if op is c.CATEGORY:
        return av not in (c.CATEGORY_NOT_SPACE, c.CATEGORY_DIGIT, c.CATEGORY_WORD)
    got = _char_set(op, av, c)
    if got is None:
        return True
    negated, chars = got
    return ("\n" in chars) != negated


@lru_cache(maxsize=64)
def scanner_for(rules: RuleSet) -> Scanner:
    return Scanner(rules)


@lru_cache(maxsize=8)
def scanner_for_profiles(extra_dirs: tuple[Path, ...] = ()) -> Scanner:
    """One scanner for the rules of every profile, so the rounds of an article share their
    line scans even when a round picks other profiles (see ``ruleset_for``)."""
    generic, specific = load_profiles(extra_dirs)
    return Scanner(ruleset_for(tuple(p.id for p in specific), extra_dirs))
