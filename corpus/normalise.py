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
        ids: tuple[str, ...] = ()
        for rnd in range(self.max_rounds):
            # Profiles can change once a round has lifted the dateline ("TPO - ").
            ids = tuple(p.id for p in noise.select_profiles(doc.publisher, doc.url, specific, state.dateline))
            rules = noise.ruleset_for(ids, self.profile_dirs)
            found = find_noise_spans(text, rules, state)
            if not found:
                break
            removals.extend(replace(r, round=rnd) for r in found)
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

@dataclass
class _Fields:
    title: str | None
    title_in_text: bool
    dateline: str | None
    attribution: str | None
    published: str | None


@dataclass
class _Line:
    start: int  # offset of the line in the text
    text: str
    cut: list = field(default_factory=list)  # removed (start, end) within the line, sorted

    def view(self) -> tuple[str, list[int]]:
        """The line with its cuts taken out, and a map from view index to line index."""
        if not self.cut:
            return self.text, []
        keep, index = [], []
        pos = 0
        for s, e in sorted(self.cut):
            if s > pos:
                keep.append(self.text[pos:s])
                index.extend(range(pos, s))
            pos = max(pos, e)
        keep.append(self.text[pos:])
        index.extend(range(pos, len(self.text)))
        return "".join(keep), index

    def alive(self) -> bool:
        if not self.cut:
            return bool(self.text)
        v, _ = self.view()
        return bool(v.strip())


# Whole-line noise is short: longer lines are body paragraphs and skip those rules.
MAX_NOISE_LINE = 400
MAX_HEADER_LINE = 120


class _Pass:
    def __init__(self, text: str, rules: RuleSet, fields: _Fields):
        self.text = text
        self.rules = rules
        self.fields = fields
        self.lines: list[_Line] = []
        pos = 0
        for raw in text.split("\n"):
            self.lines.append(_Line(pos, raw))
            pos += len(raw) + 1
        self.found: list[Removal] = []

    # Recording -------------------------------------------------------------------
    def cut(self, line: _Line, vs: int, ve: int, rule: str, kind: str) -> None:
        """Cut view span [vs, ve) of a line."""
        view, index = line.view()
        if ve <= vs:
            return
        if index:
            ls, le = index[vs], index[ve - 1] + 1
        else:
            ls, le = vs, ve
        line.cut.append((ls, le))
        line.cut.sort()
        self.found.append(Removal(line.start + ls, line.start + le, rule, kind, line.text[ls:le]))

    def cut_line(self, line: _Line, rule: str, kind: str) -> None:
        view, _ = line.view()
        self.cut(line, 0, len(view), rule, kind)

    def live(self) -> list[_Line]:
        return [ln for ln in self.lines if ln.alive()]

    # Matching ---------------------------------------------------------------------
    def full_rule(self, scope: str, s: str):
        entry = self.rules.combined.get(scope)
        if not entry:
            return None, None
        pat, names = entry
        if pat is not None:
            m = pat.fullmatch(s)
            if not m:
                return None, None
            rule = names[m.lastgroup]
            return rule, rule.pattern.fullmatch(s) or m
        for rule in names.values():
            m = rule.pattern.fullmatch(s)
            if m:
                return rule, m
        return None, None

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
        for i, ln in enumerate(self.lines):
            if len(ln.text) > MAX_NOISE_LINE or not ln.alive():
                continue
            rule, m = self.full_rule("line", ln.text)
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

    def _neighbour(self, i: int, step: int):
        j = i + step
        while 0 <= j < len(self.lines):
            if self.lines[j].alive():
                return self.lines[j]
            j += step
        return None

    def _cut_if_headline(self, ln, rule) -> None:
        if ln is not None and _headline_like(ln.view()[0]):
            self.cut_line(ln, rule.id, rule.kind)

    def _cut_headlines_after(self, i: int, rule, limit: int = 6) -> None:
        """The run of headline-like lines after a related-stories label (at most ``limit``);
        the first line that reads like a paragraph ends the box."""
        for ln in self.lines[i + 1:]:
            if not ln.alive():
                continue
            if limit == 0 or not _headline_like(ln.view()[0], allow_question=True):
                return
            self.cut_line(ln, rule.id, rule.kind)
            limit -= 1

    def spans(self) -> None:
        rules = self.rules.by_scope.get("span", ())
        if not rules:
            return
        plans = []
        caption_chars = 0
        for ln in self.lines:
            if not ln.alive():
                continue
            view, _ = ln.view()
            hits = []
            # Rule by rule: each pattern starts with a literal the engine scans for quickly,
            # and a line without the rule's prefix is skipped with a substring test.
            for rule in rules:
                if rule.prefixes is not None and not any(p in view for p in rule.prefixes):
                    continue
                hits += [(m.start(), m.end(), rule) for m in rule.pattern.finditer(view) if m.end() > m.start()]
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
        rules = self.rules.by_scope.get("block", ())
        if not rules:
            return
        total = max(len(self.text), 1)
        for i, ln in enumerate(self.lines):
            if len(ln.text) > MAX_HEADER_LINE or not ln.alive():
                continue
            view, _ = ln.view()
            for rule in rules:
                if ln.start / total >= rule.min_position and rule.pattern.fullmatch(view):
                    self.cut_line(ln, rule.id, rule.kind)
                    if rule.extent == "headlines":
                        self._cut_headlines_after(i, rule)
                        break
                    for later in self.lines[i + 1:]:
                        if later.alive():
                            self.cut_line(later, rule.id, rule.kind)
                    return

    def tail_cuts(self) -> None:
        rules = self.rules.by_scope.get("tail-cut", ())
        if not rules:
            return
        total = max(len(self.text), 1)
        best = None
        for i, ln in enumerate(self.lines):
            if ln.start + len(ln.text) < total * min(r.min_position for r in rules) or not ln.alive():
                continue
            view, index = ln.view()
            for rule in rules:
                if rule.prefixes is not None and not any(p in view for p in rule.prefixes):
                    continue
                # Search only from the rule's earliest position on.
                first = max(0, int(total * rule.min_position) - ln.start)
                if index and first:
                    first = next((k for k, v in enumerate(index) if v >= first), len(view))
                for m in rule.pattern.finditer(view, first):
                    if rule.boundary and m.start() > 0 and view[m.start() - 1] not in noise.BOUNDARY_CHARS:
                        continue
                    if best is None or (i, m.start()) < best[:2]:
                        best = (i, m.start(), rule)
                    break
            if best is not None:
                break
        if best is None:
            return
        i, s, rule = best
        first = self.lines[i]
        view, _ = first.view()
        self.cut(first, s, len(view), rule.id, rule.kind)
        for later in self.lines[i + 1:]:
            if later.alive():
                self.cut_line(later, rule.id, rule.kind)

    def lead(self) -> None:
        f = self.fields
        for ln in self.lines:
            if not ln.alive():
                continue
            view, _ = ln.view()
            rule, m = self.full_rule("lead", view)
            if rule:
                self.lift(rule, m)
                self.cut_line(ln, rule.id, rule.kind)
                continue
            if f.title_in_text and f.title is None:
                f.title = " ".join(view.split())
                self.cut_line(ln, "layout/title-line", "title")
                continue
            if f.title and _same_text(view, f.title):
                self.cut_line(ln, "layout/repeated-title", "repeated-title")
                continue
            # Lead spans (metadata lines, datelines) glued to the first body line.
            for _ in range(4):
                view, _ = ln.view()
                hit = self.lead_span(view)
                if not hit:
                    break
                rule, m = hit
                self.lift(rule, m)
                self.cut(ln, m.start(), m.end(), rule.id, rule.kind)
                if not ln.alive():
                    break
            if ln.alive():
                return

    def lead_span(self, view: str):
        for rule in self.rules.by_scope.get("lead-span", ()):
            m = rule.pattern.match(view)
            if m and m.end() > 0:
                return rule, m
        return None

    def tail(self) -> None:
        for ln in reversed(self.lines):
            if not ln.alive():
                continue
            progressed = True
            while progressed and ln.alive():
                progressed = False
                view, _ = ln.view()
                rule, m = self.full_rule("tail", view)
                if rule:
                    self.lift(rule, m)
                    self.cut_line(ln, rule.id, rule.kind)
                    break
                for rule in self.rules.by_scope.get("tail-span", ()):
                    m = rule.pattern.search(view)
                    if m and m.end() == len(view.rstrip()) and m.end() > m.start():
                        self.lift(rule, m)
                        self.cut(ln, m.start(), len(view), rule.id, rule.kind)
                        progressed = True
                        break
            if ln.alive():
                return

    def repeats(self) -> None:
        """A paragraph printed twice in a row (a sapo repeated as the first paragraph, a
        related headline printed twice): the second copy goes."""
        prev = None
        for idx, ln in enumerate(self.lines):
            if not ln.alive():
                continue
            view, _ = ln.view()
            key = view.strip()
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
            view, _ = ln.view()
            if view.strip() and not any(c.isalnum() for c in view):
                self.cut_line(ln, "layout/orphan-punctuation", "other")


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


def _caption_start(view: str, credit_start: int) -> int | None:
    """Start of the caption sentence right before a photo credit, or None."""
    end = credit_start
    while end > 0 and view[end - 1] in " -–—|(":
        end -= 1
    if end == 0:
        return None
    start = 0
    for m in _SENT_END.finditer(view, 0, max(end - 1, 0)):
        if m.end() < end - 1:
            start = m.end()
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


def _same_text(a: str, b: str) -> bool:
    norm = lambda s: " ".join(s.casefold().split()).strip(" .")
    return norm(a) == norm(b)


def find_noise_spans(text: str, rules: RuleSet, fields: _Fields) -> list[Removal]:
    if not text:
        return []
    return _Pass(text, noise.active_rules(rules, text), fields).run()


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
