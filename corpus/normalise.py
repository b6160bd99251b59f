"""The normaliser chain: encoding repair, layout, noise removal, quality flags.

Every step is a small object with a ``name`` and ``__call__(doc) -> doc``: it returns a
new ``Doc`` with what it changed appended to ``doc.fixes`` (rewrites such as encoding
repair) or ``doc.removals`` (text cut out, with the rule and the noise kind). The
removals of the noise step are offsets into the text as it entered that step (after
repair and layout), grouped by ``round``: a removal of round N is an offset into the
text left by round N-1, so the trail can be replayed exactly (see ``replay``).
"""
from __future__ import annotations

import html
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace
from itertools import accumulate
from operator import eq as _EQ
from pathlib import Path

from . import noise
from .noise import RuleSet


@dataclass(frozen=True)
class Removal:
    start: int
    end: int
    rule: str
    kind: str
    text: str
    round: int = 0

    def as_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "rule": self.rule, "kind": self.kind,
                "text": self.text, "round": self.round}


@dataclass(frozen=True)
class Doc:
    """One article as it flows through the normaliser chain."""

    text: str
    title: str | None = None
    title_in_text: bool = False  # the first body line is the headline (one-article text files)
    publisher: str | None = None
    url: str | None = None
    dateline: str | None = None
    attribution: str | None = None
    published: str | None = None
    noise_input: str | None = None  # the text the noise step started from, for replay/explain
    removals: tuple[Removal, ...] = ()
    fixes: tuple = ()
    quality_flags: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    # The encoding was judged (RepairEncoding): once, on the fullest text. A cleaned copy has
    # less evidence (a Unicode credit cut from a line of legacy-looking words) and is not
    # judged again, so normalising a normalised document changes nothing.
    encoding_decided: bool = False


# --- layout ----------------------------------------------------------------------------

_SPACE_RUN = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def normalise_layout(text: str) -> str:
    """One paragraph per line: lines stripped, space runs collapsed, blank lines dropped.

    Fast path: a line is only rebuilt when it holds something to collapse.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    out = []
    for line in text.split("\n"):
        if not line.isprintable() or "  " in line or line[:1] == " " or line[-1:] == " ":
            if line.isprintable():
                # The only white space a printable line can hold is " ": collapsing runs of
                # it and stripping it is the same as the substitution, and far cheaper.
                while "  " in line:
                    line = line.replace("  ", " ")
                line = line.strip(" ")
                if line:
                    out.append(line)
                continue
            line = _SPACE_RUN.sub(" ", line).strip()
            if not line.isprintable():
                line = "".join(c if c.isprintable() else " " for c in line)
                line = " ".join(line.split())
        if line:
            out.append(line)
    return "\n".join(out)


# --- steps ----------------------------------------------------------------------------

_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


@dataclass(frozen=True)
class UnescapeHtml:
    """HTML entities left in scraped text (``H&agrave; N&#7897;i``)."""

    name: str = "unescape-html"

    def __call__(self, doc: Doc) -> Doc:
        if "&" not in doc.text:
            return doc
        n = len(_ENTITY.findall(doc.text))
        if not n:
            return doc
        # Until nothing changes: some pages are escaped twice (&amp;agrave;), and a fixed
        # point keeps the step idempotent.
        text = doc.text
        while True:
            unescaped = html.unescape(text)
            if unescaped == text:
                break
            text = unescaped
        if text == doc.text:
            return doc
        return replace(doc, text=text, fixes=doc.fixes + ((self.name, f"{n} entities"),))


@dataclass(frozen=True)
class RepairEncoding:
    """Legacy encodings, mojibake and Unicode hygiene (see ``corpus.encoding``)."""

    unify_tones: str | None = None
    name: str = "repair-encoding"

    def __call__(self, doc: Doc) -> Doc:
        from .encoding import repair_text

        if doc.encoding_decided:
            return doc
        text, fixes = repair_text(doc.text, unify_tones=self.unify_tones)
        title = doc.title
        title_fixes = []
        if title:
            title, title_fixes = repair_text(title, unify_tones=self.unify_tones)
        if text == doc.text and title == doc.title:
            return replace(doc, encoding_decided=True)
        recorded = tuple((f.step, f.detail) for f in fixes) + tuple((f.step, "title: " + f.detail) for f in title_fixes)
        return replace(doc, text=text, title=title, fixes=doc.fixes + recorded, encoding_decided=True)


@dataclass(frozen=True)
class NormaliseLayout:
    name: str = "layout"

    def __call__(self, doc: Doc) -> Doc:
        text = normalise_layout(doc.text)
        title = " ".join(doc.title.split()) if doc.title else doc.title
        if text == doc.text and title == doc.title:
            return doc
        return replace(doc, text=text, title=title or None)


@dataclass(frozen=True)
class FlagQuality:
    name: str = "quality-flags"

    def __call__(self, doc: Doc) -> Doc:
        from .encoding import quality_flags

        flags = set(doc.quality_flags) | set(quality_flags(doc.text))
        if any(step.startswith("legacy:") for step, _ in doc.fixes):
            flags.add("legacy-encoding-converted")
        flags_t = tuple(sorted(flags))
        return doc if flags_t == doc.quality_flags else replace(doc, quality_flags=flags_t)


@dataclass(frozen=True)
class StripNoise:
    """Find noise with the generic rules plus the publisher's profiles, remove it, and
    lift title, dateline and attribution into fields. Runs rounds until nothing more is
    found, so its output is a fixed point (normalising twice changes nothing)."""

    profile_dirs: tuple[Path, ...] = ()
    max_rounds: int = 6
    name: str = "strip-noise"

    def __call__(self, doc: Doc) -> Doc:
        _, specific = noise.load_profiles(self.profile_dirs)
        text = doc.text
        state = _Fields(title=doc.title, title_in_text=doc.title_in_text,
                        dateline=doc.dateline, attribution=doc.attribution, published=doc.published)
        removals: list[Removal] = []
        scanner = noise.scanner_for_profiles(self.profile_dirs)
        scans: dict = {}  # line scans, shared by the rounds (see find_noise_spans)
        ids: tuple[str, ...] = ()
        for rnd in range(self.max_rounds):
            # Profiles can change once a round has lifted the dateline ("TPO - ").
            ids = tuple(p.id for p in noise.select_profiles(doc.publisher, doc.url, specific, state.dateline))
            rules = noise.ruleset_for(ids, self.profile_dirs)
            found = find_noise_spans(text, rules, state, scans, rnd, scanner)
            if not found:
                break
            removals.extend(found)
            text = apply_removals(text, found)
            state.title_in_text = False
        return replace(
            doc,
            text=text,
            noise_input=doc.text if doc.noise_input is None else doc.noise_input,
            title=state.title,
            title_in_text=False,
            dateline=state.dateline,
            attribution=state.attribution,
            published=state.published,
            removals=doc.removals + tuple(removals),
            profiles=ids,
        )


DEFAULT_CHAIN = (UnescapeHtml(), RepairEncoding(), NormaliseLayout(), StripNoise(), FlagQuality())


def normalise(doc: Doc, chain=DEFAULT_CHAIN) -> Doc:
    for step in chain:
        doc = step(doc)
    return doc


def clean_text(text: str, *, title: str | None = None, publisher: str | None = None,
               url: str | None = None, title_in_text: bool = False) -> Doc:
    """Convenience: run the whole chain on one text."""
    return normalise(Doc(text=text, title=title, publisher=publisher, url=url, title_in_text=title_in_text))


def find_noise(text: str, publisher: str | None = None, url: str | None = None) -> list[Removal]:
    """What the cleaner would remove from an already laid-out text (used by validate --strict)."""
    doc = StripNoise()(Doc(text=normalise_layout(text), publisher=publisher, url=url))
    return list(doc.removals)


# --- the noise pass ---------------------------------------------------------------------
#
# The pass follows the rules' semantics step by step; it is fast because it skips regex
# calls that cannot match and keeps per-line Python work small. ``noise.Scanner`` finds, in
# one regex pass over the text, which rule literals occur in each line; a rule needing an
# absent literal is not tried (the line's masks). Line state is kept in flat lists, and the
# bookkeeping of cuts exists only for the few lines that get cut. Pure regex results are
# kept in a memo shared by the rounds of one article, so the confirmation round re-runs
# only what changed lines need.

@dataclass
class _Fields:
    title: str | None
    title_in_text: bool
    dateline: str | None
    attribution: str | None
    published: str | None


# What a rule is asked to do on a view: indexes into a line's masks.
WHOLE, AT_START, ANYWHERE, PREFIXED = range(4)


class _Cuts:
    """What has been cut from one line: the cuts in line offsets, sorted, and the map from
    view offsets (the line without its cuts) back to line offsets."""

    __slots__ = ("spans", "starts", "offsets")

    def __init__(self):
        self.spans: list = []
        self.starts: list[int] = []  # view offset where each kept piece starts
        self.offsets: list[int] = []  # line offset minus view offset, per kept piece

    def to_line(self, k: int) -> int:
        return k + self.offsets[bisect_right(self.starts, k) - 1]

    def first_at_or_after(self, pos: int, view_len: int) -> int:
        """The first view offset whose line offset is >= ``pos`` (``view_len`` if none)."""
        ends = self.starts[1:] + [view_len]
        for start, end, offset in zip(self.starts, ends, self.offsets):
            if end + offset > pos:
                return max(start, pos - offset)
        return view_len

    def add(self, ls: int, le: int, line_len: int) -> None:
        self.spans.append((ls, le))
        self.spans.sort()
        starts, offsets = [], []
        pos = vlen = 0
        for s, e in self.spans:
            if s > pos:
                starts.append(vlen)
                offsets.append(pos - vlen)
                vlen += s - pos
            pos = max(pos, e)
        if pos < line_len:
            starts.append(vlen)
            offsets.append(pos - vlen)
        self.starts, self.offsets = starts, offsets


_MISSING = object()
_NOTHING = (0, 0, 0, 0)  # the masks of an empty view
_GONE = _Cuts()  # the cuts of a line cut whole at once (never looked into: its view is empty)




def _removal(start: int, end: int, rule: str, kind: str, text: str, rnd: int) -> Removal:
    """``Removal(...)``, built without the frozen dataclass's per-field setattr calls (an
    equal object, at a third of the cost)."""
    r = object.__new__(Removal)
    r.__dict__.update(start=start, end=end, rule=rule, kind=kind, text=text, round=rnd)
    return r


# Whole-line noise is short: longer lines are body paragraphs and skip those rules.
MAX_NOISE_LINE = 400
MAX_HEADER_LINE = 120


class _Pass:
    """One round over the lines of a text. Line ``i`` is ``texts[i]`` at offset
    ``starts[i]``; ``views[i]`` is what is left of it, ``alive[i]`` whether anything but
    white space is left, ``masks[i]`` the rules that may match the view (see
    ``noise.Scanner.masks``) and ``hits[i]`` the scanner's literal hits in it."""

    def __init__(self, text: str, lines: list[str], infos: list, plans: dict, scope_bits: dict,
                 fields: _Fields, scanner: noise.Scanner, memo: dict, rnd: int = 0,
                 settled: dict | None = None, tail_settled: dict | None = None):
        self.text = text
        self.fields = fields
        self.scanner = scanner
        self.plans = plans  # scope -> noise.ScopePlan
        self.scope_bits = scope_bits  # scope -> bits of its active rules
        # Regex results by (rule number, kind of call, string[, offset]): the rounds of one
        # article see mostly the same lines, and a pure call need not run twice.
        self.memo = memo
        self.round = rnd
        self.texts = lines
        self.starts = list(accumulate([len(line) + 1 for line in lines[:-1]], initial=0))
        self.views = list(lines)
        self.alive = list(map(bool, lines))
        self.masks = [info[2] for info in infos]
        self.hits = [info[1] for info in infos]
        self.cuts: dict[int, _Cuts] = {}
        self.found: list[Removal] = []
        # Line text -> bits of the rules it went through in an earlier round, none of which
        # can match it as a line rule or a span (see ``_Rounds``); and the lines left whole
        # only because their captions were kept, which do not settle.
        self.settled = {} if settled is None else settled
        self.unsettled: set[int] = set()
        # The same for tail-cut rules, none of which can match such a line at all.
        self.tail_settled = {} if tail_settled is None else tail_settled
        self.new_tail_settled: set[str] = set()
        # Rules with a text search in use (``noise.Scanner.text_searches``), those done (from
        # ``text_from`` on), and per line the bits of those that found something there.
        self.textual, self.text_done, self.text_bits, self.text_from = 0, 0, {}, 0

    # Prechecks ------------------------------------------------------------------------
    def candidates(self, scope: str, i: int, how: int, limit: int = -1):
        """The entries (rule, number, facts, search helper) of the active rules of ``scope``
        (and of ``limit``) that may match view ``i`` for a call of kind ``how``, in rule
        order. PREFIXED includes the original prefix filter of span and tail-cut rules."""
        ok = self.masks[i][how] & self.scope_bits.get(scope, 0) & limit
        if ok & self.textual:
            ok = self.on_line(ok, i)
        if not ok:
            return ()
        entries = self.plans[scope].entries_of(ok)
        if how == PREFIXED and ok & self.scanner.unscanned:
            unscanned, view = self.scanner.unscanned, self.views[i]
            entries = [e for e in entries if not (unscanned >> e[1] & 1) or self.has_prefix(e[1], view)]
        return entries

    def on_line(self, ok: int, i: int) -> int:
        """``ok`` less the rules with a text search (``noise.Scanner.text_searches``) that
        find nothing on line ``i`` (a whole line: a cut one is left to its own search)."""
        textual = ok & self.textual
        if not textual or i in self.cuts:
            return ok
        missing = textual & ~self.text_done
        while missing:
            low = missing & -missing
            self._search_text(low.bit_length() - 1)
            self.text_done |= low
            missing ^= low
        return ok & ~(textual & ~self.text_bits.get(i, 0))

    def use_text(self, lines: int, start: int) -> None:
        """Whether text searches serve the next stage: they pay for themselves only over
        many lines (a line seen in an earlier round has its results kept)."""
        self.textual = self.scanner.textual if lines > 3 else 0
        self.text_done, self.text_bits, self.text_from = 0, {}, start

    def _search_text(self, k: int) -> None:
        """Mark the lines where rule ``k``'s text search finds something (from ``text_from``)."""
        search, width = self.scanner.text_searches[k]
        text, starts, text_bits = self.text, self.starts, self.text_bits
        bit = 1 << k
        p = self.text_from
        while True:
            m = search.search(text, p)
            if m is None:
                return
            j = bisect_right(starts, m.start() + width) - 1
            text_bits[j] = text_bits.get(j, 0) | bit
            if j + 1 >= len(starts):
                return
            p = max(starts[j + 1] - width, m.start() + 1)  # on to the next line

    def has_prefix(self, k: int, view: str) -> bool:
        key = (k, "prefix", view)
        got = self.memo.get(key)
        if got is None:
            got = self.memo[key] = self.scanner.has_prefix(k, view)
        return got

    def matches(self, entry, i: int, pos: int = 0):
        """Exactly ``rule.pattern.finditer(view, pos)``, trying only where a match can start."""
        rule, k, facts, after = entry
        view = self.views[i]
        if facts.tail_stop is not None:
            # Made of lead characters up to the end: a match starts after the last other one.
            s = facts.tail_stop.search(view[::-1])
            if s is not None:
                pos = max(pos, len(view) - s.start())
        if (facts.start or facts.lead) and facts.min_width >= 1:
            # A match starts at one of the start literals (or in the lead run before one of
            # the lead literals): try only there, in order.
            bit = 1 << (self.scanner.n + k)
            starts = [p for p, b in self.hits[i] if b & bit]
            if not facts.start:
                if facts.lead_width > 64:  # too many places in a run to try one by one
                    if facts.lead_stop is not None:
                        yield from _lead_runs(rule.pattern, view, starts, facts, after, pos)
                        return
                    starts = None
                else:
                    starts = _lead_starts(view, starts, facts.lead_class)
            if starts is not None:
                match = rule.pattern.match
                for p in starts:
                    if p >= pos:
                        m = match(view, p)
                        if m:
                            yield m
                            pos = m.end()
                return
        if after is not None:
            search, width, at_start, _ = after
            match = rule.pattern.match
            if at_start and pos == 0:
                m = match(view, 0)
                if m:
                    yield m
                    pos = m.end()
            if search is None:  # only ^ is left: nowhere else
                return
            # (?<=[.!?] )X: search "[.!?] (?:(?<=[.!?] )X)", which the engine scans quickly;
            # a match of it at q is the original's next match, at q + width.
            while True:
                d = search.search(view, max(pos - width, 0))
                if d is None:
                    return
                m = match(view, d.start() + width)
                if m is None:  # cannot happen; stay exact regardless
                    break
                yield m
                pos = m.end()
        yield from rule.pattern.finditer(view, pos)

    def fullmatch(self, entry, s: str):
        key = (entry[1], "fullmatch", s)
        m = self.memo.get(key, _MISSING)
        if m is _MISSING:
            m = self.memo[key] = entry[0].pattern.fullmatch(s)
        return m

    # Recording -------------------------------------------------------------------
    def cut(self, i: int, vs: int, ve: int, rule: str, kind: str) -> None:
        """Cut view span [vs, ve) of line ``i``."""
        if ve <= vs:
            return
        view = self.views[i]
        text = self.texts[i]
        cuts = self.cuts.get(i)
        whole = vs == 0 and ve == len(view)
        if cuts is None:
            ls, le = vs, ve
            if whole:  # a whole line: no view offsets to keep
                self.cuts[i] = _GONE
                self.views[i], self.alive[i], self.hits[i], self.masks[i] = "", False, (), _NOTHING
                self.found.append(_removal(self.starts[i], self.starts[i] + le, rule, kind, text, self.round))
                return
            cuts = self.cuts[i] = _Cuts()
        else:
            ls, le = cuts.to_line(vs), cuts.to_line(ve - 1) + 1
        cuts.add(ls, le, len(text))
        if whole:  # the whole view goes: nothing is left to scan
            self.views[i], self.alive[i], self.hits[i], self.masks[i] = "", False, (), _NOTHING
        else:
            view = view[:vs] + view[ve:]
            hits = self.hits[i] = self.scanner.rescan_join(view, self.hits[i], vs, ve)
            self.views[i] = view
            self.alive[i] = bool(view) and not view.isspace()
            bits = 0
            for _, b in hits:
                bits |= b
            self.masks[i] = self.scanner.masks(view, bits, hits)
        start = self.starts[i]
        self.found.append(_removal(start + ls, start + le, rule, kind, text[ls:le], self.round))

    def cut_many(self, i: int, plan: list) -> None:
        """``cut`` of each (start, end, rule, kind) of ``plan`` (view spans in order, not
        overlapping) from the right, done at once on a line not cut yet: the view, its
        hits and masks are worked out once rather than after every cut."""
        plan = [p for p in plan if p[1] > p[0]]
        if len(plan) < 2 or i in self.cuts:
            for s, e, rule_id, kind in reversed(plan):
                self.cut(i, s, e, rule_id, kind)
            return
        text, start, rnd = self.texts[i], self.starts[i], self.round
        for s, e, rule_id, kind in reversed(plan):
            self.found.append(_removal(start + s, start + e, rule_id, kind, text[s:e], rnd))
        spans = [(s, e) for s, e, _, _ in plan]
        cuts = self.cuts[i] = _Cuts()
        cuts.spans = spans[:-1]
        cuts.add(*spans[-1], len(text))
        view = "".join(text[a:b] for a, b in zip([0] + [e for _, e in spans], [s for s, _ in spans] + [len(text)]))
        if not view:
            self.views[i], self.alive[i], self.hits[i], self.masks[i] = "", False, (), _NOTHING
            return
        hits = self.hits[i] = self.scanner.rescan_cuts(view, self.hits[i], spans, len(text))
        self.views[i] = view
        self.alive[i] = not view.isspace()
        bits = 0
        for _, b in hits:
            bits |= b
        self.masks[i] = self.scanner.masks(view, bits, hits)

    def cut_line(self, i: int, rule: str, kind: str) -> None:
        self.cut(i, 0, len(self.views[i]), rule, kind)

    def first_at_or_after(self, i: int, pos: int) -> int:
        """The first view offset of line ``i`` whose line offset is >= ``pos``."""
        cuts = self.cuts.get(i)
        return pos if cuts is None else cuts.first_at_or_after(pos, len(self.views[i]))

    # Matching ---------------------------------------------------------------------
    def full_rule(self, scope: str, i: int):
        """The first active rule of ``scope`` matching the whole view of line ``i``, and its match."""
        plan = self.plans.get(scope)
        if plan is None:
            return None, None
        s = self.views[i]
        if not plan.one_by_one:  # the combined pattern as the original ran it, unfiltered
            pat, names = plan.combined
            m = pat.fullmatch(s)
            if not m:
                return None, None
            rule = names[m.lastgroup]
            return rule, rule.pattern.fullmatch(s) or m
        ok = self.masks[i][WHOLE] & self.scope_bits[scope]
        if not ok:
            return None, None
        # The first candidate that matches, as the combined pattern would find it; several
        # candidates are tried with one alternation of just them.
        key = (ok, "first-fullmatch", s)
        entry = self.memo.get(key, _MISSING)
        if entry is _MISSING:
            pat = plan.alternation(ok) if ok & (ok - 1) else None
            if pat is not None:
                m = pat.fullmatch(s)
                entry = plan.entries[int(m.lastgroup[1:])] if m else None
            else:
                entry = next((e for e in self.candidates(scope, i, WHOLE) if self.fullmatch(e, s)), None)
            self.memo[key] = entry
        return (entry[0], self.fullmatch(entry, s)) if entry else (None, None)

    def lift(self, rule, m) -> None:
        if rule.field and "value" in m.re.groupindex and m.group("value"):
            value = " ".join(m.group("value").split()).strip(" ()-–—.,:")
            if value and getattr(self.fields, rule.field) is None:
                setattr(self.fields, rule.field, value)

    # Stages --------------------------------------------------------------------------
    def run(self) -> list[Removal]:
        self.whole_lines()
        self.spans()
        self.blocks()
        self.tail_cuts()
        self.lead()
        self.tail()
        self.repeats()
        self.orphans()
        self.runs()
        return sorted(self.found, key=lambda r: (r.start, r.end))

    def whole_lines(self) -> None:
        plan = self.plans.get("line")
        if plan is None:
            return
        # Whole-line rules are pure per line: decide every line first (lines with the same
        # candidate rules share one alternation, applied in a single C-level map), then act
        # on the matches in line order, as the original loop did.
        decided = self._decide_lines(plan)
        alive = self.alive
        for i in sorted(decided):
            if not alive[i]:
                continue
            rule, m = decided[i]
            if rule:
                self.lift(rule, m)
                self.cut_line(i, rule.id, rule.kind)
                # A label that introduces or credits a headline: "Xem thêm:" then the
                # related headline; an embedded video's title then "Video: <credit>".
                # Only a bare label introduces headlines on the lines after it; "Xem thêm:
                # <headline>" carries its headline itself.
                if rule.headline_after and len(self.texts[i].split()) <= 4:
                    self._cut_headlines_after(i, rule)
                if rule.headline_before:
                    self._cut_if_headline(self._neighbour(i, -1), rule)

    def _decide_lines(self, plan) -> dict:
        """Line number -> (rule, match) of the first line rule matching the whole line, for
        the lines the line rules apply to (short, alive; the view is the whole line here)."""
        decided, todo = {}, {}
        texts, alive = self.texts, self.alive
        if not plan.one_by_one:
            for i, text in enumerate(texts):
                if alive[i] and len(text) <= MAX_NOISE_LINE:
                    decided[i] = self.full_rule("line", i)
            return decided
        bits = self.scope_bits["line"]
        settled = self.settled
        # No memo here: a line seen in an earlier round is settled, and one alternation
        # per line costs less than keeping its result.
        for i, masks in enumerate(self.masks):
            ok = masks[WHOLE] & bits
            if not ok or not alive[i] or len(texts[i]) > MAX_NOISE_LINE:
                continue
            seen = settled.get(texts[i])
            if seen is not None:
                ok &= ~seen  # only rules not tried on this line in an earlier round
                if not ok:
                    continue
            got = todo.get(ok)
            if got is None:
                todo[ok] = [i]
            else:
                got.append(i)
        for ok, numbers in todo.items():
            pat = plan.alternation(ok)
            if pat is None:
                for i in numbers:
                    decided[i] = self.full_rule("line", i)
                continue
            for i, m in zip(numbers, map(pat.fullmatch, [texts[i] for i in numbers])):
                if m:
                    entry = plan.entries[int(m.lastgroup[1:])]
                    decided[i] = (entry[0], self.fullmatch(entry, texts[i]))
        return decided

    def _neighbour(self, i: int, step: int):
        j = i + step
        alive = self.alive
        while 0 <= j < len(alive):
            if alive[j]:
                return j
            j += step
        return None

    def _cut_if_headline(self, i, rule) -> None:
        if i is not None and _headline_like(self.views[i]):
            self.cut_line(i, rule.id, rule.kind)

    def _cut_headlines_after(self, i: int, rule, limit: int = 6) -> None:
        """The run of headline-like lines after a related-stories label (at most ``limit``);
        the first line that reads like a paragraph ends the box."""
        for j in range(i + 1, len(self.texts)):
            if not self.alive[j]:
                continue
            if limit == 0 or not _headline_like(self.views[j], allow_question=True):
                return
            self.cut_line(j, rule.id, rule.kind)
            limit -= 1

    def runs(self) -> None:
        """Lines cut only as a run of ``min_run`` to ``max_run`` lines in a row matching one
        rule, between a line that ends a sentence and one that does not go on with it: two
        related headlines or captions between paragraphs go, one line alone may be a
        subheading. Decided afresh each round (neighbours change as lines are cut)."""
        rules = self.scope_bits.get("run", 0)
        if not rules:
            return
        views, alive = self.views, self.alive
        order = [i for i in range(len(views)) if alive[i]]
        for entry in self.plans["run"].entries_of(rules):
            rule, bit = entry[0], 1 << entry[1]
            hit = [bool(self.masks[i][WHOLE] & bit) and len(views[i]) <= MAX_NOISE_LINE
                   and self.fullmatch(entry, views[i]) is not None for i in order]
            k = 0
            while k < len(order):
                if not hit[k]:
                    k += 1
                    continue
                j = k
                while j < len(order) and hit[j]:
                    j += 1
                if (rule.min_run <= j - k <= rule.max_run and k > 0 and _ends_sentence(views[order[k - 1]])
                        and (j == len(order) or not rule.at_end and not views[order[j]].lstrip()[:1].islower())):
                    for i in order[k:j]:
                        self.cut_line(i, rule.id, rule.kind)
                k = j
            order = [i for i in order if alive[i]]

    def spans(self) -> None:
        rules = self.scope_bits.get("span", 0)
        if not rules:
            return
        plans = []
        caption_chars = 0
        alive, views, memo, settled, cuts = self.alive, self.views, self.memo, self.settled, self.cuts
        todo = []
        for i, masks in enumerate(self.masks):
            if masks[PREFIXED] & rules and alive[i]:
                seen = None if i in cuts else settled.get(views[i])
                if seen is None:
                    todo.append((i, -1))
                elif masks[PREFIXED] & rules & ~seen:
                    todo.append((i, ~seen))  # only rules not tried on this line before
        self.use_text(len(todo), 0)
        for i, limit in todo:
            view = views[i]
            hits = []
            for entry in self.candidates("span", i, PREFIXED, limit):  # rule by rule, in order
                key = (entry[1], "spans", view)
                spans = memo.get(key)
                if spans is None:
                    spans = memo[key] = [m.span() for m in self.matches(entry, i) if m.end() > m.start()]
                hits += [(s, e, entry[0]) for s, e in spans]
            if not hits:
                continue
            hits = [h for h in (_at_boundary(view, *h) for h in hits) if h is not None]
            # Plan every cut in view offsets first (a caption never reaches back into the
            # hit before it), then cut from the right so earlier offsets stay valid.
            plan = []
            prev_end = 0
            prev_credit = False
            for s, e, rule in sorted(hits, key=lambda h: h[0]):
                if s < prev_end:
                    continue
                # A video's caption may follow its title with no stop: both go.
                cs = (_caption_start(view, s, rule.caption_not, split=rule.kind != "video")
                      if rule.caption_before else None)
                if rule.caption_before and prev_credit and (cs is None or cs < prev_end):
                    # No sentence ends between two photo credits: the words between them are
                    # the second photo's caption ("... Ảnh: X <caption> Ảnh: Y").
                    cs = _caption_start(view, s, rule.caption_not, prev_end)
                if rule.caption_required and not (cs is not None and prev_end <= cs < s):
                    continue  # no caption before it: the match is part of a body sentence
                if cs is not None and prev_end <= cs < s:
                    cap_rule = rule.id.replace("credit", "caption") if "credit" in rule.id else rule.id + "+caption"
                    plan.append((cs, s, cap_rule, "caption"))
                    caption_chars += s - cs
                plan.append((s, e, rule.id, rule.kind))
                prev_end = e
                prev_credit = rule.caption_before
            plans.append((i, plan))
        # A page that is mostly captions is a photo story: there the captions are the body.
        keep_captions = caption_chars > 0.35 * len(self.text)
        for i, plan in plans:
            if keep_captions and any(kind == "caption" for *_, kind in plan):
                self.unsettled.add(i)
                plan = [p for p in plan if p[3] != "caption"]
            self.cut_many(i, plan)

    def blocks(self) -> None:
        rules = self.scope_bits.get("block", 0)
        if not rules:
            return
        total = max(len(self.text), 1)
        texts, alive, starts = self.texts, self.alive, self.starts
        for i, masks in enumerate(self.masks):
            if not masks[WHOLE] & rules or len(texts[i]) > MAX_HEADER_LINE or not alive[i]:
                continue
            view = self.views[i]
            for entry in self.candidates("block", i, WHOLE):
                rule = entry[0]
                if starts[i] / total >= rule.min_position and self.fullmatch(entry, view):
                    self.cut_line(i, rule.id, rule.kind)
                    if rule.extent == "headlines":
                        self._cut_headlines_after(i, rule)
                        break
                    for j in range(i + 1, len(texts)):
                        if alive[j]:
                            self.cut_line(j, rule.id, rule.kind)
                    return

    def tail_cuts(self) -> None:
        rules = self.scope_bits.get("tail-cut", 0)
        if not rules:
            return
        total = max(len(self.text), 1)
        entries = self.plans["tail-cut"].entries
        positions = [e[0].min_position for k, e in entries.items() if rules >> k & 1]
        earliest, latest = total * min(positions), total * max(positions)
        best = None
        texts, alive, starts, cuts = self.texts, self.alive, self.starts, self.cuts
        first_line = bisect_left([s + len(t) for s, t in zip(starts, texts)], earliest)
        # Whole lines where no tail-cut rule can match were seen in an earlier round.
        settled = self.tail_settled
        todo = []
        for i in range(first_line, len(texts)):
            if alive[i]:
                seen = None if i in cuts else settled.get(texts[i])
                if seen is None or self.masks[i][PREFIXED] & rules & ~seen:
                    todo.append(i)
        self.use_text(len(todo), starts[todo[0]] if todo else len(self.text))
        for i in todo:
            ok = self.masks[i][PREFIXED] & rules
            if i not in cuts:
                ok &= ~settled.get(texts[i], 0)
            if ok & self.textual:
                ok = self.on_line(ok, i)
            if not ok:
                if i not in cuts:
                    self.new_tail_settled.add(texts[i])
                continue
            if starts[i] >= latest:
                # Every rule searches the whole line.
                got = self._line_cut(i, total, ok)
                if got is not None:
                    best = (i, *got)
                    break
                continue
            for entry in self.candidates("tail-cut", i, PREFIXED, ok):
                rule = entry[0]
                # Search only from the rule's earliest position on.
                first = max(0, int(total * rule.min_position) - starts[i])
                if first:
                    first = self.first_at_or_after(i, first)
                start = self._cut_from(entry, i, first)
                if start is not None and (best is None or (i, start) < best[:2]):
                    best = (i, start, rule)
            if best is not None:
                break
        if best is None:
            return
        i, s, rule = best
        self.cut(i, s, len(self.views[i]), rule.id, rule.kind)
        for j in range(i + 1, len(texts)):
            if alive[j]:
                self.cut_line(j, rule.id, rule.kind)

    def _line_cut(self, i: int, total: int, limit: int = -1):
        """(start, rule) of the earliest tail-cut match in a line past every rule's
        earliest position, or None."""
        best = None
        for entry in self.candidates("tail-cut", i, PREFIXED, limit):
            first = max(0, int(total * entry[0].min_position) - self.starts[i])
            start = self._cut_from(entry, i, first)
            if start is not None and (best is None or start < best[0]):
                best = (start, entry[0])
        return best

    def _cut_from(self, entry, i: int, first: int) -> int | None:
        """``_first_cut``, from the matches of the whole line, which are kept for the next
        rounds: where the line sits in the text moves from round to round, the matches do
        not. The matches from ``first`` on are those from 0 that start there, unless one
        from 0 spans ``first`` (and may hide one starting inside it)."""
        rule, k, facts, _ = entry
        view = self.views[i]
        if facts.min_width < 1:  # empty matches: finditer's rules differ from a position on
            return self._first_cut(entry, i, first)
        key = (k, "all", view)
        spans = self.memo.get(key)
        if spans is None:
            spans = self.memo[key] = tuple(m.span() for m in self.matches(entry, i))
        for s, e in spans:
            if s >= first:
                if rule.boundary and s > 0 and view[s - 1] not in noise.BOUNDARY_CHARS:
                    continue
                return s
            if e > first:
                return self._first_cut(entry, i, first)
        return None

    def _first_cut(self, entry, i: int, first: int) -> int | None:
        """Where the first match of a tail-cut rule from ``first`` on starts (at a boundary
        if the rule asks for one)."""
        view = self.views[i]
        for m in self.matches(entry, i, first):
            if entry[0].boundary and m.start() > 0 and view[m.start() - 1] not in noise.BOUNDARY_CHARS:
                continue
            return m.start()
        return None

    def lead(self) -> None:
        f = self.fields
        alive = self.alive
        for i in range(len(alive)):
            if not alive[i]:
                continue
            view = self.views[i]
            rule, m = self.full_rule("lead", i)
            if rule:
                self.lift(rule, m)
                self.cut_line(i, rule.id, rule.kind)
                continue
            if f.title_in_text and f.title is None:
                f.title = " ".join(view.split())
                self.cut_line(i, "layout/title-line", "title")
                continue
            if f.title and _same_text(view, f.title, self.memo):
                self.cut_line(i, "layout/repeated-title", "repeated-title")
                continue
            # The headline glued before the first sentence of a flattened page: the whole
            # headline (five words or more), then a capital or a bracketed dateline.
            if f.title and _title_prefix(view, f.title):
                n = len(f.title)
                self.cut(i, 0, n + (view[n] == " "), "layout/repeated-title", "repeated-title")
            # Lead spans (metadata lines, datelines) glued to the first body line.
            for _ in range(4):
                hit = self.lead_span(i)
                if not hit:
                    break
                rule, m = hit
                self.lift(rule, m)
                self.cut(i, m.start(), m.end(), rule.id, rule.kind)
                if not alive[i]:
                    break
            if alive[i]:
                return

    def lead_span(self, i: int):
        view = self.views[i]
        for entry in self.candidates("lead-span", i, AT_START):
            key = (entry[1], "match", view)
            m = self.memo.get(key, _MISSING)
            if m is _MISSING:
                m = self.memo[key] = entry[0].pattern.match(view)
            if m and m.end() > 0:
                return entry[0], m
        return None

    def tail(self) -> None:
        alive = self.alive
        for i in range(len(alive) - 1, -1, -1):
            if not alive[i]:
                continue
            progressed = True
            while progressed and alive[i]:
                progressed = False
                view = self.views[i]
                rule, m = self.full_rule("tail", i)
                if rule:
                    self.lift(rule, m)
                    self.cut_line(i, rule.id, rule.kind)
                    break
                end = None
                for entry in self.candidates("tail-span", i, ANYWHERE):
                    key = (entry[1], "search", view)
                    m = self.memo.get(key, _MISSING)
                    if m is _MISSING:  # the first match, as search()
                        m = self.memo[key] = next(self.matches(entry, i), None)
                    if end is None:
                        end = len(view.rstrip())
                    if m and m.end() == end and m.end() > m.start():
                        rule = entry[0]
                        self.lift(rule, m)
                        self.cut(i, m.start(), len(view), rule.id, rule.kind)
                        progressed = True
                        break
            if alive[i]:
                return

    def repeats(self) -> None:
        """A paragraph printed twice in a row (a sapo repeated as the first paragraph, a
        related headline printed twice): the second copy goes."""
        alive, views = self.alive, self.views
        keys = [(i, views[i].strip()) for i in range(len(views)) if alive[i]]
        # Most texts have no two equal neighbours: one C-level comparison pass says so.
        if not any(map(_EQ, [k for _, k in keys[1:]], [k for _, k in keys[:-1]])):
            return
        prev = None
        for idx, key in keys:
            if prev is not None and key == prev and len(key.split()) >= 4:
                kind = "repeated-sapo" if idx <= 3 else "related"
                self.cut_line(idx, "layout/repeated-paragraph", kind)
                continue
            prev = key

    def orphans(self) -> None:
        """A line left with no letter or digit after a cut (``()``, ``|``, ``-``)."""
        views = self.views
        for i in sorted(self.cuts):
            view = views[i]
            if view.strip() and not any(c.isalnum() for c in view):
                self.cut_line(i, "layout/orphan-punctuation", "other")


def _lead_runs(pattern: re.Pattern, view: str, leads: list[int], facts, after, pos: int):
    """``pattern.finditer(view, pos)`` for a pattern whose matches run over lead characters
    up to a lead literal (at ``leads``), in runs of any length: a match starts at least
    ``lead_least`` characters before a lead literal, after the last character that
    ``lead_stop`` finds before it, so only that stretch is tried (where ``after`` says a
    match may start, if known). The stretches of later literals start no earlier."""
    match = pattern.match
    stop, least = facts.lead_stop, facts.lead_least
    prefix, width, at_start = (after[3], after[1], after[2]) if after else (None, 0, False)
    backwards = None  # the view reversed: the last stop before a place is one search away
    j = 0
    while True:
        j = bisect_left(leads, pos + least, j)
        if j == len(leads):
            return
        lead = leads[j]
        if backwards is None:
            backwards = view[::-1]
        s = stop.search(backwards, len(view) - lead)
        lo = max(pos, len(view) - s.start() if s else 0)
        hi = lead - least  # the last start this literal allows
        if after is None:  # any place in the stretch: the engine's own search from there
            if lo > hi:
                pos = max(pos, hi + 1)
                continue
            m = pattern.search(view, lo)
            if m is None:
                return
            yield m
            pos = m.end()
            continue
        q = lo
        found = False
        while q <= hi:
            if at_start and q == 0:
                cand = 0
            elif prefix is None:
                break
            else:
                d = prefix.search(view, max(q - width, 0), hi)
                if d is None:
                    break
                cand = d.start() + width
            m = match(view, cand)
            if m:
                yield m
                pos = m.end()
                found = True
                break
            q = cand + 1
        if not found:
            pos = max(pos, hi + 1)  # nothing starts up to here


def _lead_starts(view: str, positions: list[int], lead_class: re.Pattern, limit: int = 64):
    """Every offset from which only ``lead_class`` characters lead up to one of
    ``positions``, in order; None if there are more than ``limit``."""
    out = set()
    for q in positions:
        out.add(q)
        while q > 0 and lead_class.match(view, q - 1):
            q -= 1
            out.add(q)
            if len(out) > limit:
                return None
    return sorted(out)


# A sentence ends after a lowercase letter, digit, ")" or quote (the next one may open with a
# number after a space: "... chưa có bình luận. 4 bức ảnh ..."), or after a capital that does
# not close a run of initials and has a space after its stop, or a capitalised word right
# after it ("Đông Nam Á. Nhà ...", "Đông Nam Á.Nhà ...", "WHO. Ông ..." but not "B.A. Ông",
# "TP.HCM" nor "TP.Hồ Chí Minh").
_SENT_END = re.compile(r"(?:(?<=[a-zđàáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ0-9%)])|(?<=[\"”’]))"
                       r"[.!?…]+[\"”’]?(?= ?" + noise.UP + r"| \d)"
                       r"|(?<=(?<![.\w])" + noise.UP + r")[.!?…]+[\"”’]?(?= ?" + noise.UP + noise.LO + r"| " + noise.UP + r")"
                       r"|(?<=\w" + noise.UP + r")[.!?…]+[\"”’]?(?= " + noise.UP + r")")


def _at_boundary(view: str, s: int, e: int, rule):
    """Enforce a rule's boundary and dash options (kept out of the patterns so every span
    pattern starts with a literal, which the regex engine scans for quickly)."""
    if rule.boundary and s > 0 and view[s - 1] not in noise.BOUNDARY_CHARS:
        return None
    if rule.absorb_dash:
        k = s
        while k > 0 and view[k - 1] == " ":
            k -= 1
        if k > 0 and view[k - 1] in "-–—" and (k == 1 or view[k - 2] == " "):
            s = k - 1
    return s, e, rule


# A sentence opener (never part of a name: "Do Thái", "Tuy Hòa" have a capital next, and
# "Không quân" is left out) right after a lowercase word ("Ban Chỉ đạo" is a name), or
# glued to it where a crawl dropped the line break, with a lowercase word after it; or a
# connective ("... tín hiệu tích cực Theo Cục ...": the words from it are body, so no
# caption is taken).
_HIDDEN_START = re.compile(r"(?<!\S)" + noise.LO + r"+ ?(?P<opener>"
                           r"(?:Bên|Không(?! quân)|Các|Một|Sau|Trước|Tại|Khi|Trong|Với|Để|Nếu|Đây|Đó|Hiện|Vào|"
                           r"Nhưng|Tuy nhiên|Còn|Hãy|Nên|Đừng|Chỉ)(?= " + noise.LO + r")|(?P<connective>" + noise.CONNECTIVE
                           + r")(?=[ ,]))")

_SENT_CHARS = frozenset(".!?…\"”’")  # every character a _SENT_END match is made of


def _last_sentence_end(view: str, limit: int) -> int:
    """The end of the last ``_SENT_END`` match in ``finditer(view, 0, limit)`` that ends
    before ``limit``, or 0. Searching from a position whose previous character cannot be
    part of a match gives the same matches from there on, so only a window before
    ``limit`` is searched, widened until it holds a match or reaches the start."""
    window = 256
    while True:
        w = max(0, limit - window)
        while w > 0 and view[w - 1] in _SENT_CHARS:
            w -= 1
        last = 0
        for m in _SENT_END.finditer(view, w, limit):
            if m.end() < limit:
                last = m.end()
        if last or w == 0:
            return last
        window *= 4


def _caption_start(view: str, credit_start: int, not_caption: re.Pattern | None = None,
                   after: int | None = None, split: bool = False) -> int | None:
    """Start of the caption sentence right before a photo credit, or None (also when the
    sentence starts with ``not_caption``). ``after``: the caption starts there instead (the
    end of the previous credit). ``split``: a sentence opener after a lowercase word inside
    that sentence starts the caption (a subheading before it lost its line break)."""
    end = credit_start
    while end > 0 and view[end - 1] in " -–—|(":
        end -= 1
    if end == 0:
        return None
    start = _last_sentence_end(view, end - 1) if after is None else after
    if split and after is None:
        # A subheading glued before the caption ends with no stop: the caption starts at
        # the sentence opener after its last word ("... truyền miệng cao Bên trong một
        # Apple Store. Ảnh: X").
        last = None
        for last in _HIDDEN_START.finditer(view, start, end):
            pass
        if last is not None:
            if last.group("connective"):
                return None  # the words from it carry the story on: body
            start = last.start("opener")
    while start < end and view[start] == " ":
        start += 1
    words = len(view[start:end].split())
    if 2 <= words <= 60 and not (not_caption and not_caption.match(view, start)):
        return start
    return None


def _title_prefix(view: str, title: str) -> bool:
    """Whether ``view`` starts with the whole of ``title`` (five words or more) and a space,
    then a capital or "(": the headline glued to the sapo, not a sapo that opens with the
    headline's words ("Giá xăng giảm 300 đồng..."). A crawl that dropped the line breaks
    glues the next capital straight to it ("... nổi giậnDân trí Trận hòa ...")."""
    n = len(title)
    if not view.startswith(title) or len(title.split()) < 5:
        return False
    after = view[n: n + 2]
    return after[:1] == " " and (after[1:].isupper() or after[1:] == "(") or after[:1].isupper()


def _ends_sentence(line: str) -> bool:
    """Whether ``line`` ends with a full stop, ! ? or … (before closing quotes or brackets)."""
    return line.rstrip().rstrip("\"'”’»)]")[-1:] in (".", "!", "?", "…")


def _headline_like(line: str, allow_question: bool = False) -> bool:
    """A short line that starts with a capital and has no closing punctuation (a headline
    may end in a question mark where ``allow_question``)."""
    line = line.strip()
    if not line or not line[0].isupper() or len(line.split()) > 25:
        return False
    end = line.rstrip("\"”’'») ")[-1:]
    return end not in ".!:;…" and (allow_question or end != "?")


def _same_text(a: str, b: str, memo: dict | None = None) -> bool:
    norm = lambda s: " ".join(s.casefold().split()).strip(" .")
    nb = memo.get(("norm", b)) if memo is not None else None
    if nb is None:
        nb = norm(b)
        if memo is not None:
            memo[("norm", b)] = nb
    # Cheap exact reject: casefold never shortens a character nor turns one into white
    # space or ".", so every character of ``a`` other than white space and "." survives;
    # in a printable string the only white space is " ". A prefix of ``a`` is enough.
    head = a[:3 * len(nb) + 16]
    if head.isprintable() and len(head) - head.count(" ") - head.count(".") > len(nb):
        return False
    return norm(a) == nb


class _Rounds:
    """What the rounds of one article share (per scanner): line scans by line text, pure
    regex results, and the settled lines: those a round left whole. A line rule or a span
    of the rules of that round cannot match such a line in a later round (those are pure
    functions of the line; a rule inactive then lacked its prefix in a text holding the
    line), so a later round tries only rules it did not have (a dateline can add a
    publisher's profile)."""

    __slots__ = ("by_line", "memo", "settled", "tail_settled", "absent")

    def __init__(self):
        self.by_line: dict = {}
        self.memo: dict = {}
        self.settled: dict = {}  # line text -> bits of rules it went through
        self.tail_settled: dict = {}  # line text -> bits of rules, no tail-cut of which matches it
        self.absent = 0  # rules whose prefixes the last round's text lacked (see Scanner.spaceless)


def find_noise_spans(text: str, rules: RuleSet, fields: _Fields, scans: dict | None = None,
                     rnd: int = 0, scanner: noise.Scanner | None = None) -> list[Removal]:
    """One round of the noise pass. ``scanner`` may cover more rules than ``rules`` (all the
    profiles); ``scans`` caches its line scans and regex results between the rounds of one
    article, each round's text made from the last by ``apply_removals`` (most lines come
    back unchanged); removals carry ``rnd`` as their round."""
    if not text:
        return []
    if scanner is None or not scanner.covers(rules):
        scanner = noise.scanner_for(rules)
    # Scans and regex results depend on the scanner's rule numbers: one cache per scanner.
    cache = _Rounds() if scans is None else scans.setdefault(scanner, _Rounds())
    lines = text.split("\n")
    infos, line_bits = scanner.line_infos(text, lines, cache.by_line)
    plans, scope_bits, static, present = scanner.setup(rules, text, line_bits, cache.absent)
    cache.absent = scanner.spaceless & ~present
    if not static:  # plans per set of active rules: keep nothing
        cache.settled, cache.tail_settled = {}, {}
    one = _Pass(text, lines, infos, plans, scope_bits, fields, scanner, cache.memo, rnd, cache.settled,
                cache.tail_settled)
    found = one.run()
    if static:
        # A line left whole went through this round's rules (a settled one through those
        # it had not been through): it is settled for them. A line cut here is not, nor one
        # with the same text.
        mine = scanner.bits_of(rules)
        settled = cache.settled
        settled.update(dict.fromkeys(lines, mine))
        for i in one.cuts.keys() | one.unsettled:
            settled.pop(lines[i], None)
        cache.tail_settled.update(dict.fromkeys(one.new_tail_settled, mine))
    if found:
        _carry_scans(lines, one.starts, found, cache.by_line, scanner)
    return found


def _carry_scans(lines: list[str], starts: list[int], found: list[Removal], by_line: dict,
                 scanner: noise.Scanner) -> None:
    """Scan ahead the lines the next round will see where this one cut inside a line, from
    this round's scans: ``apply_removals`` keeps pieces of the line, joined by one space
    (or split at a line break), so only the places near a join are scanned again. A line
    that is not laid out already is left to the next round's own scan."""
    by_index: dict[int, list] = {}
    for r in found:
        i = bisect_right(starts, r.start) - 1
        by_index.setdefault(i, []).append((r.start - starts[i], r.end - starts[i], r.kind))
    longest = scanner.longest
    for i, cuts in by_index.items():
        line = lines[i]
        if any(s == 0 and e == len(line) for s, e, _ in cuts):
            continue  # cut whole: nothing is left of it
        info = by_line.get(line)
        if info is None or not line.isprintable() or "  " in line or line[:1] == " " or line[-1:] == " ":
            continue
        # The pieces and separators of the line in ``apply_removals`` (cuts sorted by start).
        parts, pos = [[]], 0
        for s, e, kind in sorted(cuts, key=lambda c: c[0]):
            if s > pos:
                parts[-1].append((pos, s))
            if e > pos:
                if kind in _BREAK_KINDS:
                    parts.append([])
                else:
                    parts[-1].append(None)  # a space
            pos = max(pos, e)
        parts[-1].append((pos, len(line)))
        for pieces in parts:
            _carry_line(line, info[1], pieces, by_line, scanner, longest)


def _carry_line(line: str, hits, pieces: list, by_line: dict, scanner: noise.Scanner, longest: int) -> None:
    """``by_line`` for the laid-out line made of ``pieces`` of ``line`` ((start, end), or
    None for a space), from the hits of ``line``."""
    # Laid out: a space at either end of a piece, a separator and runs of them become one
    # space between words, none at the ends. ``line`` has no run of spaces itself.
    runs = []  # (start, end) of ``line`` kept whole, or None for one space
    for piece in pieces:
        if piece is None:
            runs.append(None)
            continue
        a, b = piece
        if a < b and line[a] == " ":
            runs.append(None)
            a += 1
        trailing = a < b and line[b - 1] == " "
        if trailing:
            b -= 1
        if a < b:
            runs.append((a, b))
        if trailing:
            runs.append(None)
    out_runs = []
    for run in runs:
        if run is None:
            if out_runs and out_runs[-1] is not None:
                out_runs.append(None)
        else:
            out_runs.append(run)
    if out_runs and out_runs[-1] is None:
        out_runs.pop()
    if not out_runs:
        return
    new = "".join(" " if run is None else line[run[0]:run[1]] for run in out_runs)
    if new in by_line:
        return
    kept, windows = [], []
    f = k = 0
    for run in out_runs:
        if run is None:
            windows.append((f, f + 1))
            f += 1
            continue
        a, b = run
        safe = max(a, b - longest + 1)  # literals starting before this end inside the run
        while k < len(hits) and hits[k][0] < a:
            k += 1
        while k < len(hits) and hits[k][0] < safe:
            kept.append((hits[k][0] - a + f, hits[k][1]))
            k += 1
        windows.append((f + safe - a, f + b - a))
        f += b - a
    found = kept
    for lo, hi in windows:
        if hi > lo:
            found += scanner.scan(new, lo, hi)[1]
    found.sort()
    bits = 0
    for _, b in found:
        bits |= b
    by_line[new] = (bits, found, scanner.masks(new, bits, found))


_BREAK_KINDS = frozenset({"caption", "caption-credit", "related", "video", "widget", "advert", "script", "metadata"})


def apply_removals(text: str, removals: list[Removal]) -> str:
    """Cut the spans and re-lay the text. A cut inside a line that separated two pieces of
    text stood between two paragraphs on the page, so it becomes a line break."""
    spans = sorted(((r.start, r.end, r.kind) for r in removals), key=lambda x: x[0])
    out = []
    pos = 0
    for s, e, kind in spans:
        if s > pos:
            out.append(text[pos:s])
        if e > pos:
            out.append("\n" if kind in _BREAK_KINDS else " ")
        pos = max(pos, e)
    out.append(text[pos:])
    return normalise_layout("".join(out))


def replay(noise_input: str, removals: list[Removal] | tuple[Removal, ...]) -> str:
    """Re-apply a recorded removal trail to the text the noise step started from."""
    text = noise_input
    rounds = sorted({r.round for r in removals})
    for rnd in rounds:
        text = apply_removals(text, [r for r in removals if r.round == rnd])
    return text
