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
from bisect import bisect_right
from dataclasses import dataclass, field, replace
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

        text, fixes = repair_text(doc.text, unify_tones=self.unify_tones)
        title = doc.title
        title_fixes = []
        if title:
            title, title_fixes = repair_text(title, unify_tones=self.unify_tones)
        if text == doc.text and title == doc.title:
            return doc
        recorded = tuple((f.step, f.detail) for f in fixes) + tuple((f.step, "title: " + f.detail) for f in title_fixes)
        return replace(doc, text=text, title=title, fixes=doc.fixes + recorded)


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
# calls that cannot match. ``noise.Scanner`` finds, in one regex pass, which rule literals
# occur in each line; a rule needing an absent literal is not tried (``_Line.masks``).
# Pure regex results are kept in a memo shared by the rounds of one article, so the
# confirmation round re-runs only what changed lines need.

@dataclass
class _Fields:
    title: str | None
    title_in_text: bool
    dateline: str | None
    attribution: str | None
    published: str | None


# What a rule is asked to do on a view: indexes into ``_Line.masks``.
WHOLE, AT_START, ANYWHERE, PREFIXED = range(4)


class _Line:
    """One line of the text and what has been cut from it. The view (the line without its
    cuts), the scanner's literal hits in it and the masks of rules that may match it are
    kept up to date as cuts are added."""

    __slots__ = ("start", "text", "cut", "view", "alive", "bits", "hits", "masks", "_starts", "_offsets")

    def __init__(self, start: int, text: str, scanned: tuple):
        self.start = start  # offset of the line in the text
        self.text = text
        self.cut: list = []  # removed (start, end) within the line, sorted
        self.view = text  # the line with its cuts taken out
        self.alive = bool(text)  # something besides white space is left
        self.bits, self.hits, self.masks = scanned  # see noise.Scanner.scan / masks
        self._starts: list[int] = []  # view offset where each kept piece starts
        self._offsets: list[int] = []  # line offset minus view offset, per kept piece

    def to_line(self, k: int) -> int:
        """The line offset of view offset ``k``."""
        if not self.cut:
            return k
        return k + self._offsets[bisect_right(self._starts, k) - 1]

    def first_at_or_after(self, pos: int) -> int:
        """The first view offset whose line offset is >= ``pos`` (len(view) if none)."""
        if not self.cut:
            return pos
        ends = self._starts[1:] + [len(self.view)]
        for start, end, offset in zip(self._starts, ends, self._offsets):
            if end + offset > pos:
                return max(start, pos - offset)
        return len(self.view)

    def add_cut(self, ls: int, le: int, vs: int, ve: int, scanner: noise.Scanner) -> None:
        """Cut line span [ls, le), which is view span [vs, ve)."""
        if vs == 0 and ve == len(self.view):  # the whole view goes: nothing is left to scan
            self.cut.append((ls, le))
            self.cut.sort()
            self.view, self.alive, self.bits, self.hits = "", False, 0, []
            self.masks, self._starts, self._offsets = _NOTHING, [], []
            return
        view = self.view[:vs] + self.view[ve:]
        self.hits = scanner.rescan_join(view, self.hits, vs, ve)
        self.cut.append((ls, le))
        self.cut.sort()
        starts, offsets = [], []
        pos = vlen = 0
        for s, e in self.cut:
            if s > pos:
                starts.append(vlen)
                offsets.append(pos - vlen)
                vlen += s - pos
            pos = max(pos, e)
        if pos < len(self.text):
            starts.append(vlen)
            offsets.append(pos - vlen)
        self.view = view
        self._starts, self._offsets = starts, offsets
        self.alive = bool(self.view.strip())
        bits = 0
        for _, b in self.hits:
            bits |= b
        self.bits = bits
        self.masks = scanner.masks(self.view, bits, self.hits)


_MISSING = object()
_NOTHING = (0, 0, 0, 0)  # the masks of an empty view

# Whole-line noise is short: longer lines are body paragraphs and skip those rules.
MAX_NOISE_LINE = 400
MAX_HEADER_LINE = 120


class _Pass:
    def __init__(self, text: str, lines: list[str], scanned: list, rules: RuleSet, fields: _Fields,
                 scanner: noise.Scanner, memo: dict, rnd: int = 0):
        self.text = text
        self.rules = rules
        self.fields = fields
        self.scanner = scanner
        self.plans = scanner.plans(rules)  # scope -> noise.ScopePlan of the active rules
        # Bits of the active rules of each scope, for one-operation line tests.
        self.scope_bits = {scope: plan.rules for scope, plan in self.plans.items()}
        # Regex results by (rule number, kind of call, string[, offset]): the rounds of one
        # article see mostly the same lines, and a pure call need not run twice.
        self.memo = memo
        self.round = rnd
        self.lines: list[_Line] = []
        pos = 0
        for raw, got in zip(lines, scanned):
            self.lines.append(_Line(pos, raw, got))
            pos += len(raw) + 1
        self.found: list[Removal] = []

    # Prechecks ------------------------------------------------------------------------
    def candidates(self, scope: str, ln: _Line, how: int) -> list:
        """The entries (rule, number, facts, search helper) of the active rules of ``scope``
        that may match the view of ``ln`` for a call of kind ``how``, in rule order.
        PREFIXED includes the original prefix filter of span and tail-cut rules."""
        plan = self.plans.get(scope)
        if plan is None:
            return []
        ok = ln.masks[how] & plan.rules
        out = []
        entries = plan.entries
        check = ok & self.scanner.unscanned if how == PREFIXED else 0
        while ok:  # lowest bit first: rule order
            low = ok & -ok
            i = low.bit_length() - 1
            if not (check & low) or self.has_prefix(i, ln.view):
                out.append(entries[i])
            ok ^= low
        return out

    def has_prefix(self, i: int, view: str) -> bool:
        key = (i, "prefix", view)
        got = self.memo.get(key)
        if got is None:
            got = self.memo[key] = self.scanner.has_prefix(i, view)
        return got

    def matches(self, entry, ln: _Line, pos: int = 0):
        """Exactly ``rule.pattern.finditer(view, pos)``, trying only where a match can start."""
        rule, i, facts, after_lookbehind = entry
        view = ln.view
        if (facts.start or facts.lead) and facts.min_width >= 1:
            # A match starts at one of the start literals (or in the lead run before one of
            # the lead literals): try only there, in order.
            bit = 1 << (self.scanner.n + i)
            starts = [p for p, b in ln.hits if b & bit]
            if facts.lead:
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
        if after_lookbehind is not None:
            # (?<=[.!?])X: search "[.!?](?:(?<=[.!?])X)", which the engine scans quickly;
            # a match of it at q is the original's next match, at q + 1.
            match = rule.pattern.match
            while True:
                d = after_lookbehind.search(view, max(pos - 1, 0))
                if d is None:
                    return
                m = match(view, d.start() + 1)
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
    def cut(self, line: _Line, vs: int, ve: int, rule: str, kind: str) -> None:
        """Cut view span [vs, ve) of a line."""
        if ve <= vs:
            return
        ls, le = line.to_line(vs), line.to_line(ve - 1) + 1
        line.add_cut(ls, le, vs, ve, self.scanner)
        self.found.append(Removal(line.start + ls, line.start + le, rule, kind, line.text[ls:le], self.round))

    def cut_line(self, line: _Line, rule: str, kind: str) -> None:
        self.cut(line, 0, len(line.view), rule, kind)

    # Matching ---------------------------------------------------------------------
    def full_rule(self, scope: str, ln: _Line):
        """The first active rule of ``scope`` matching the whole view of ``ln``, and its match."""
        plan = self.plans.get(scope)
        if plan is None:
            return None, None
        s = ln.view
        if not plan.one_by_one:  # the combined pattern as the original ran it, unfiltered
            pat, names = plan.combined
            m = pat.fullmatch(s)
            if not m:
                return None, None
            rule = names[m.lastgroup]
            return rule, rule.pattern.fullmatch(s) or m
        ok = ln.masks[WHOLE] & plan.rules
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
                entry = next((e for e in self.candidates(scope, ln, WHOLE) if self.fullmatch(e, s)), None)
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
        return sorted(self.found, key=lambda r: (r.start, r.end))

    def whole_lines(self) -> None:
        plan = self.plans.get("line")
        if plan is None:
            return
        # Whole-line rules are pure per line: decide every line first (lines with the same
        # candidate rules share one alternation, applied in a single C-level map), then act
        # on the matches in line order, as the original loop did.
        decided = self._decide_lines(plan)
        for i, ln in enumerate(self.lines):
            if i not in decided or not ln.alive:
                continue
            rule, m = decided[i]
            if rule:
                self.lift(rule, m)
                self.cut_line(ln, rule.id, rule.kind)
                # A label that introduces or credits a headline: "Xem thêm:" then the
                # related headline; an embedded video's title then "Video: <credit>".
                # Only a bare label introduces headlines on the lines after it; "Xem thêm:
                # <headline>" carries its headline itself.
                if rule.headline_after and len(ln.text.split()) <= 4:
                    self._cut_headlines_after(i, rule)
                if rule.headline_before:
                    self._cut_if_headline(self._neighbour(i, -1), rule)

    def _decide_lines(self, plan) -> dict:
        """Line number -> (rule, match) of the first line rule matching the whole line, for
        the lines the line rules apply to (short, alive; the view is the whole line here)."""
        decided, todo = {}, {}
        for i, ln in enumerate(self.lines):
            if len(ln.text) > MAX_NOISE_LINE or not ln.alive:
                continue
            ok = ln.masks[WHOLE] & plan.rules
            if not plan.one_by_one:
                decided[i] = self.full_rule("line", ln)
            elif ok:
                entry = self.memo.get((ok, "first-fullmatch", ln.text), _MISSING)
                if entry is _MISSING:
                    todo.setdefault(ok, []).append(i)
                elif entry:
                    decided[i] = (entry[0], self.fullmatch(entry, ln.text))
        for ok, numbers in todo.items():
            pat = plan.alternation(ok)
            if pat is None:
                for i in numbers:
                    decided[i] = self.full_rule("line", self.lines[i])
                continue
            for i, m in zip(numbers, map(pat.fullmatch, [self.lines[i].text for i in numbers])):
                entry = self.memo[(ok, "first-fullmatch", self.lines[i].text)] = \
                    plan.entries[int(m.lastgroup[1:])] if m else None
                if entry:
                    decided[i] = (entry[0], self.fullmatch(entry, self.lines[i].text))
        return decided

    def _neighbour(self, i: int, step: int):
        j = i + step
        while 0 <= j < len(self.lines):
            if self.lines[j].alive:
                return self.lines[j]
            j += step
        return None

    def _cut_if_headline(self, ln, rule) -> None:
        if ln is not None and _headline_like(ln.view):
            self.cut_line(ln, rule.id, rule.kind)

    def _cut_headlines_after(self, i: int, rule, limit: int = 6) -> None:
        """The run of headline-like lines after a related-stories label (at most ``limit``);
        the first line that reads like a paragraph ends the box."""
        for ln in self.lines[i + 1:]:
            if not ln.alive:
                continue
            if limit == 0 or not _headline_like(ln.view, allow_question=True):
                return
            self.cut_line(ln, rule.id, rule.kind)
            limit -= 1

    def spans(self) -> None:
        rules = self.scope_bits.get("span", 0)
        if not rules:
            return
        plans = []
        caption_chars = 0
        for ln in self.lines:
            if not ln.alive or not ln.masks[PREFIXED] & rules:
                continue
            view = ln.view
            hits = []
            for entry in self.candidates("span", ln, PREFIXED):  # rule by rule, in order
                key = (entry[1], "spans", view)
                spans = self.memo.get(key)
                if spans is None:
                    spans = self.memo[key] = [m.span() for m in self.matches(entry, ln) if m.end() > m.start()]
                hits += [(s, e, entry[0]) for s, e in spans]
            if not hits:
                continue
            hits = [h for h in (_at_boundary(view, *h) for h in hits) if h is not None]
            # Plan every cut in view offsets first (a caption never reaches back into the
            # hit before it), then cut from the right so earlier offsets stay valid.
            plan = []
            prev_end = 0
            for s, e, rule in sorted(hits, key=lambda h: h[0]):
                if s < prev_end:
                    continue
                cs = _caption_start(view, s) if rule.caption_before else None
                if cs is not None and prev_end <= cs < s:
                    cap_rule = rule.id.replace("credit", "caption") if "credit" in rule.id else rule.id + "+caption"
                    plan.append((cs, s, cap_rule, "caption"))
                    caption_chars += s - cs
                plan.append((s, e, rule.id, rule.kind))
                prev_end = e
            plans.append((ln, plan))
        # A page that is mostly captions is a photo story: there the captions are the body.
        keep_captions = caption_chars > 0.35 * len(self.text)
        for ln, plan in plans:
            for s, e, rule_id, kind in reversed(plan):
                if keep_captions and kind == "caption":
                    continue
                self.cut(ln, s, e, rule_id, kind)

    def blocks(self) -> None:
        rules = self.scope_bits.get("block", 0)
        if not rules:
            return
        total = max(len(self.text), 1)
        for i, ln in enumerate(self.lines):
            if len(ln.text) > MAX_HEADER_LINE or not ln.alive or not ln.masks[WHOLE] & rules:
                continue
            view = ln.view
            for entry in self.candidates("block", ln, WHOLE):
                rule = entry[0]
                if ln.start / total >= rule.min_position and self.fullmatch(entry, view):
                    self.cut_line(ln, rule.id, rule.kind)
                    if rule.extent == "headlines":
                        self._cut_headlines_after(i, rule)
                        break
                    for later in self.lines[i + 1:]:
                        if later.alive:
                            self.cut_line(later, rule.id, rule.kind)
                    return

    def tail_cuts(self) -> None:
        rules = self.scope_bits.get("tail-cut", 0)
        if not rules:
            return
        total = max(len(self.text), 1)
        positions = [e[0].min_position for e in self.plans["tail-cut"].entries.values()]
        earliest, latest = total * min(positions), total * max(positions)
        best = None
        for i, ln in enumerate(self.lines):
            ok = ln.masks[PREFIXED] & rules
            if ln.start + len(ln.text) < earliest or not ln.alive or not ok:
                continue
            view = ln.view
            if ln.start >= latest:
                # Every rule searches the whole line: the line's result is a pure function
                # of the view and the candidates, kept for the next round.
                key = (ok, "tail-cut-line", view)
                got = self.memo.get(key, _MISSING)
                if got is _MISSING:
                    got = self.memo[key] = self._line_cut(ln, total)
                if got is not None:
                    best = (i, *got)
                    break
                continue
            for entry in self.candidates("tail-cut", ln, PREFIXED):
                rule = entry[0]
                # Search only from the rule's earliest position on.
                first = max(0, int(total * rule.min_position) - ln.start)
                if first:
                    first = ln.first_at_or_after(first)
                key = (entry[1], "tail-cut", view, first)
                start = self.memo.get(key, _MISSING)
                if start is _MISSING:
                    start = self.memo[key] = self._first_cut(entry, ln, first)
                if start is not None and (best is None or (i, start) < best[:2]):
                    best = (i, start, rule)
            if best is not None:
                break
        if best is None:
            return
        i, s, rule = best
        first = self.lines[i]
        self.cut(first, s, len(first.view), rule.id, rule.kind)
        for later in self.lines[i + 1:]:
            if later.alive:
                self.cut_line(later, rule.id, rule.kind)

    def _line_cut(self, ln: _Line, total: int):
        """(start, rule) of the earliest tail-cut match in a line past every rule's
        earliest position, or None."""
        best = None
        for entry in self.candidates("tail-cut", ln, PREFIXED):
            first = max(0, int(total * entry[0].min_position) - ln.start)
            start = self._first_cut(entry, ln, first)
            if start is not None and (best is None or start < best[0]):
                best = (start, entry[0])
        return best

    def _first_cut(self, entry, ln: _Line, first: int) -> int | None:
        """Where the first match of a tail-cut rule from ``first`` on starts (at a boundary
        if the rule asks for one)."""
        view = ln.view
        for m in self.matches(entry, ln, first):
            if entry[0].boundary and m.start() > 0 and view[m.start() - 1] not in noise.BOUNDARY_CHARS:
                continue
            return m.start()
        return None

    def lead(self) -> None:
        f = self.fields
        for ln in self.lines:
            if not ln.alive:
                continue
            view = ln.view
            rule, m = self.full_rule("lead", ln)
            if rule:
                self.lift(rule, m)
                self.cut_line(ln, rule.id, rule.kind)
                continue
            if f.title_in_text and f.title is None:
                f.title = " ".join(view.split())
                self.cut_line(ln, "layout/title-line", "title")
                continue
            if f.title and _same_text(view, f.title, self.memo):
                self.cut_line(ln, "layout/repeated-title", "repeated-title")
                continue
            # Lead spans (metadata lines, datelines) glued to the first body line.
            for _ in range(4):
                hit = self.lead_span(ln)
                if not hit:
                    break
                rule, m = hit
                self.lift(rule, m)
                self.cut(ln, m.start(), m.end(), rule.id, rule.kind)
                if not ln.alive:
                    break
            if ln.alive:
                return

    def lead_span(self, ln: _Line):
        for entry in self.candidates("lead-span", ln, AT_START):
            key = (entry[1], "match", ln.view)
            m = self.memo.get(key, _MISSING)
            if m is _MISSING:
                m = self.memo[key] = entry[0].pattern.match(ln.view)
            if m and m.end() > 0:
                return entry[0], m
        return None

    def tail(self) -> None:
        for ln in reversed(self.lines):
            if not ln.alive:
                continue
            progressed = True
            while progressed and ln.alive:
                progressed = False
                view = ln.view
                rule, m = self.full_rule("tail", ln)
                if rule:
                    self.lift(rule, m)
                    self.cut_line(ln, rule.id, rule.kind)
                    break
                end = None
                for entry in self.candidates("tail-span", ln, ANYWHERE):
                    key = (entry[1], "search", view)
                    m = self.memo.get(key, _MISSING)
                    if m is _MISSING:  # the first match, as search()
                        m = self.memo[key] = next(self.matches(entry, ln), None)
                    if end is None:
                        end = len(view.rstrip())
                    if m and m.end() == end and m.end() > m.start():
                        rule = entry[0]
                        self.lift(rule, m)
                        self.cut(ln, m.start(), len(view), rule.id, rule.kind)
                        progressed = True
                        break
            if ln.alive:
                return

    def repeats(self) -> None:
        """A paragraph printed twice in a row (a sapo repeated as the first paragraph, a
        related headline printed twice): the second copy goes."""
        prev = None
        for idx, ln in enumerate(self.lines):
            if not ln.alive:
                continue
            key = ln.view.strip()
            if prev is not None and key == prev and len(key.split()) >= 4:
                kind = "repeated-sapo" if idx <= 3 else "related"
                self.cut_line(ln, "layout/repeated-paragraph", kind)
                continue
            prev = key

    def orphans(self) -> None:
        """A line left with no letter or digit after a cut (``()``, ``|``, ``-``)."""
        for ln in self.lines:
            if not ln.cut:
                continue
            view = ln.view
            if view.strip() and not any(c.isalnum() for c in view):
                self.cut_line(ln, "layout/orphan-punctuation", "other")


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


_SENT_END = re.compile(r"(?:(?<=[a-zđàáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ0-9%)])|(?<=[\"”’]))[.!?…]+[\"”’]?(?= ?" + noise.UP + r")")


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


def _caption_start(view: str, credit_start: int) -> int | None:
    """Start of the caption sentence right before a photo credit, or None."""
    end = credit_start
    while end > 0 and view[end - 1] in " -–—|(":
        end -= 1
    if end == 0:
        return None
    start = _last_sentence_end(view, end - 1)
    while start < end and view[start] == " ":
        start += 1
    words = len(view[start:end].split())
    if 2 <= words <= 60:
        return start
    return None


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


def find_noise_spans(text: str, rules: RuleSet, fields: _Fields, scans: dict | None = None,
                     rnd: int = 0, scanner: noise.Scanner | None = None) -> list[Removal]:
    """One round of the noise pass. ``scanner`` may cover more rules than ``rules`` (all the
    profiles); ``scans`` caches its line scans and regex results between the rounds of one
    article (most lines come back unchanged); removals carry ``rnd`` as their round."""
    if not text:
        return []
    if scanner is None or not scanner.covers(rules):
        scanner = noise.scanner_for(rules)
    # Scans and regex results depend on the scanner's rule numbers: one cache per scanner.
    by_line, memo = ({}, {}) if scans is None else scans.setdefault(scanner, ({}, {}))
    lines = text.split("\n")
    if by_line:
        scanned = [by_line.get(line) for line in lines]
        for k, got in enumerate(scanned):
            if got is None:
                scanned[k] = scanner.scan(lines[k])
    else:  # the first round: one regex pass over the whole text
        scanned = scanner.scan_lines(text, lines)
    line_bits = 0
    for k, got in enumerate(scanned):
        if len(got) == 2:
            got = by_line[lines[k]] = scanned[k] = (*got, scanner.masks(lines[k], *got))
        line_bits |= got[0]
    # The rules whose literal prefixes occur in the text.
    active = scanner.active(rules, text, line_bits)
    return _Pass(text, lines, scanned, active, fields, scanner, memo, rnd).run()


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
