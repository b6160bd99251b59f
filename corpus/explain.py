"""Show what the cleaner removed from an input, span by span, and which rule removed it."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TextIO

from .ingest import Reject, read_inputs
from .normalise import Doc, normalise

RED, DIM, BOLD, RESET = "\x1b[31;9m", "\x1b[2m", "\x1b[1m", "\x1b[0m"


def mark_removals(text: str, removals, color: bool) -> str:
    """The text with each removed span marked: struck through in red on a terminal,
    ``[-span-]{rule}`` otherwise."""
    out, pos = [], 0
    for r in sorted(removals, key=lambda r: (r.start, r.end)):
        if r.start < pos:
            continue
        out.append(text[pos:r.start])
        span = text[r.start:r.end]
        if color:
            out.append(f"{RED}{span}{RESET}{DIM}{{{r.rule}}}{RESET}")
        else:
            out.append(f"[-{span}-]{{{r.rule}}}")
        pos = r.end
    out.append(text[pos:])
    return "".join(out)


def explain_doc(doc: Doc, color: bool) -> str:
    lines = []
    rounds = sorted({r.round for r in doc.removals})
    text = doc.noise_input or ""
    from .normalise import apply_removals

    for rnd in rounds or [0]:
        removals = [r for r in doc.removals if r.round == rnd]
        if rnd:
            lines.append(f"-- round {rnd} (offsets into the text left by round {rnd - 1}) --")
        lines.append(mark_removals(text, removals, color))
        text = apply_removals(text, removals)
    lines.append("")
    counts = Counter(r.rule for r in doc.removals)
    kinds = Counter(r.kind for r in doc.removals)
    lines.append(f"title: {doc.title!r}  dateline: {doc.dateline!r}  attribution: {doc.attribution!r}")
    if doc.fixes:
        lines.append("fixes: " + "; ".join(f"{s} ({d})" for s, d in doc.fixes))
    lines.append(f"removed {len(doc.removals)} spans, {sum(r.end - r.start for r in doc.removals)} chars; by rule:")
    for rule, n in sorted(counts.items(), key=lambda x: (-x[1], x[0])):
        lines.append(f"  {n:4d}  {rule}")
    lines.append("by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    return "\n".join(lines)


def explain_input(path: str | Path, *, record_id: str | None = None, color: bool = False, out: TextIO,
                  profile_dirs=()) -> int:
    from .pipeline import article_id, chain_with_profiles

    chain = chain_with_profiles(profile_dirs)

    shown = 0
    for item in read_inputs([path]):
        if isinstance(item, Reject):
            if record_id is None:
                out.write(f"== {item.source}: REJECTED: {item.reason}\n\n")
            continue
        rid = article_id(item.url, item.title, item.text)
        stem = Path(item.source.split("#")[0]).stem
        if record_id is not None and record_id not in (rid, item.input_id, stem, item.source):
            continue
        doc = normalise(Doc(text=item.text, title=item.title, title_in_text=item.title_in_text,
                            publisher=item.publisher, url=item.url, published=item.published,
                            fixes=item.decode_fixes), chain)
        head = f"== {item.source}  id={rid}" + (f"  input_id={item.input_id}" if item.input_id else "")
        out.write((f"{BOLD}{head}{RESET}" if color else head) + "\n")
        out.write(explain_doc(doc, color) + "\n\n")
        shown += 1
    return shown
