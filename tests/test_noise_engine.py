"""The noise engine's shortcuts against plain regex calls: every fact the engine derives
from a pattern (literal prefixes, literals a match needs or starts with, where a match may
start) only ever skips calls that cannot match, so the engine finds what the regexes find."""
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus import noise
from corpus.normalise import PREFIXED, WHOLE, _Fields, _Pass

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- literal_prefixes ---------------------------------------------------------------------

@pytest.mark.parametrize("pattern, expected", [
    (r"Theo\s+X", ("Theo",)),
    (r"[ab]c", ("ac", "bc")),
    (r"(?:Theo|Nguồn)\s+X", ("Nguồn", "Theo")),
    # A group that ends in a non-literal: what follows the group is not part of the prefix.
    (r"(ab\d)c", ("ab",)),
    (r"(?:a|b)(?:c|d\d)e", ("ac", "ad", "bc", "bd")),
    (r"(?:Ảnh|Video\s):", ("Video", "Ảnh")),
    (r"(?:xy)+z", ("xy",)),
    # Case-insensitive parts are no literal prefix.
    (r"x(?i:abc)", ("x",)),
    (r"(?i)abc", None),
    (r"(?:a|)b", None),
    (r"\d+", None),
])
def test_literal_prefixes(pattern, expected):
    assert noise.literal_prefixes(pattern) == expected


_PIECES = ["a", "b", "ab", r"\d", "[ab]", r"\s", "x?", "(?:a|b)", "(?:a|bc)", "(?:c|d\\d)", "(a)", "(?:ab)+",
           "b*", "(?:a|b\\d)", "c", "(?=a)", "(?<=b)"]


@FAST
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=5), st.text(alphabet="abcd1 x", max_size=30))
def test_literal_prefixes_are_sound(pieces, text):
    """Every match starts with one of the derived prefixes."""
    pattern = "".join(pieces)
    prefixes = noise.literal_prefixes(pattern)
    if prefixes is None:
        return
    for m in re.finditer(pattern, text):
        if m.end() > m.start():
            assert any(text.startswith(p, m.start()) for p in prefixes), (pattern, text, m, prefixes)


# --- the pass's shortcuts against finditer -------------------------------------------------

def _rules():
    generic, specific = noise.load_profiles()
    return noise.ruleset_for(tuple(p.id for p in specific))


_WORDS = ["ĐÌNH", "NAM", "UBND", "TP.HCM", "Theo", "Sau đó", "Tuy nhiên", "Đến", "Khi", "Tại", "Ảnh", "Video",
          "Clip", "Nguồn", "Xem thêm", "Chia sẻ", "Bình luận", "(0)", "(Ảnh:", ")", "(", ":", "/", "0:00", "10:30",
          "20/5/2024", ".", "!", "?", "…", "”", '"', "cây", "cầu", "người", "dân", "Gia", "Minh", "-", "–", "|", ">>",
          "TPO", "(Dân trí)", "MỚI - NÓNG", "Tin liên quan", "©", "Hotline", "0909", "@", "http://x.vn", "./.", "T/h",
          "PV", "Tags:", "#a", "\u00a0", "ạ", "Ông", "Lực lượng", "A", "B."]
lines_st = st.lists(st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from([" ", "", "  ", ". "])),
                             max_size=14).map(lambda ws: "".join(w + s for w, s in ws)), min_size=1, max_size=6)


def _pass(text, rules, scanner):
    lines = text.split("\n")
    infos, bits = scanner.line_infos(text, lines, {})
    plans, scope_bits, _, _ = scanner.setup(rules, text, bits)
    return _Pass(text, lines, infos, plans, scope_bits, _Fields(None, False, None, None, None), scanner, {}, 0)


@FAST
@given(lines_st)
def test_matches_and_line_searches_agree_with_finditer(lines):
    rules = _rules()
    scanner = noise.scanner_for(rules)
    text = "\n".join(lines)
    one = _pass(text, rules, scanner)
    one.use_text(len(lines) + 4, 0)  # text searches on, whatever the number of lines
    for scope, plan in one.plans.items():
        for k, entry in plan.entries.items():
            rule = entry[0]
            for i, view in enumerate(one.views):
                want = [m.span() for m in rule.pattern.finditer(view)]
                if want:
                    # A rule the masks rule out, or the line search misses, must not match.
                    assert one.masks[i][PREFIXED] >> k & 1 or rule.prefixes is None, (rule.id, view)
                    if k in scanner.text_searches:
                        assert one.on_line(1 << k, i), (rule.id, view)
                for pos in sorted({0, 1, len(view) // 2, len(view)}):
                    got = [m.span() for m in one.matches(entry, i, pos)]
                    assert got == [m.span() for m in rule.pattern.finditer(view, pos)], (rule.id, view, pos)


_HEADLINES = ["Bắt nguyên giám đốc công ty xây dựng vì sai phạm tại dự án nhà ở xã hội",
              "“Clip hiện trường khu đất bị bỏ hoang suốt mười năm giữa trung tâm thành phố",
              "Giá lúa tăng.", "Lực lượng chức năng - Ảnh: Gia Minh", "THEO DÂN TRÍ", "Theo RT", "0:00 / 0:00",
              "Tin liên quan", "Bình luận (0)", "Hotline: 0909 123 456"]


@FAST
@given(st.lists(st.one_of(st.sampled_from(_HEADLINES), lines_st.map(" ".join)), min_size=1, max_size=6))
def test_whole_line_masks_never_rule_out_a_match(lines):
    """A whole-line rule (line, lead, tail, block, run) that matches a whole line is never
    masked out for it."""
    rules = _rules()
    scanner = noise.scanner_for(rules)
    text = "\n".join(lines)
    one = _pass(text, rules, scanner)
    for scope in ("line", "lead", "tail", "block", "run"):
        plan = one.plans.get(scope)
        for k, entry in (plan.entries.items() if plan else ()):
            for i, view in enumerate(one.views):
                if entry[0].pattern.fullmatch(view):
                    assert one.masks[i][WHOLE] >> k & 1, (entry[0].id, view)


@FAST
@given(lines_st)
def test_scan_finds_every_literal(lines):
    """The scan reports, at every position, the bits of every literal starting there."""
    scanner = noise.scanner_for(_rules())
    text = "\n".join(lines)
    found, hits = scanner.scan(text)
    at = dict(hits)
    for p in range(len(text)):
        want = 0
        for w, b in scanner.bits.items():
            if text.startswith(w, p):
                want |= b
        assert at.get(p, 0) == want, (text, p)
    infos, bits = scanner.line_infos(text, text.split("\n"), {})
    assert [(b, list(h)) for b, h, _ in infos] == [scanner.scan(line) for line in text.split("\n")]
    for line, info in zip(text.split("\n"), infos):
        assert info[2] == scanner.masks(line, *scanner.scan(line))


def test_rescan_join_is_a_scan_of_the_joined_string():
    scanner = noise.scanner_for(_rules())
    line = "Ảnh: Gia Minh Theo VTV Chia sẻ (0) UBND TP.HCM 10:30 20/5/2024 ./. ĐÌNH NAM"
    for vs in range(0, len(line), 3):
        for ve in range(vs + 1, len(line) + 1, 4):
            joined = line[:vs] + line[ve:]
            assert scanner.rescan_join(joined, scanner.scan(line)[1], vs, ve) == scanner.scan(joined)[1]


@pytest.mark.parametrize("pattern, lines", [
    # A lookbehind at the start (alternatives of them and ^), after a consumed character.
    (r" (?<=[.!?] )[A-Z][a-z]+", ["Xin chào. Anh Ba. Em", ". Abc", "x. Y"]),
    (r"(?:(?<=[.!?] )|^)[A-Z]\w+", ["Abc. Def! ghi", "abc. Def"]),
    # A run of lead characters of any length up to a literal in a lookahead.
    (r"(?<=\. )[A-Z][^.!?]*?[a-z] (?=Theo )", ["Xin chào. Cây cầu mới Theo VTV. Anh Ba Theo X", "A b Theo c. D e Theo f"]),
    # Made of single characters up to the end.
    (r"(?<=[.!?])\s+[A-Z]+(?:\s+[A-Z]+){1,3}\s*$", ["Xong. AB CD", "Xong. AB CD. EF GH", "AB CD", "x. AB cd"]),
])
def test_shortcuts_on_hand_made_patterns(pattern, lines):
    compiled = re.compile(pattern)
    facts = noise.literal_facts(compiled)
    rule = noise.Rule(id="t/x", kind="other", scope="span", pattern=compiled, prefixes=noise.literal_prefixes(pattern))
    rules = noise.RuleSet.of((rule,))
    scanner = noise.Scanner(rules)
    text = "\n".join(lines)
    one = _pass(text, rules, scanner)
    entry = one.plans["span"].entries[0]
    assert entry[2] == facts
    for i, view in enumerate(one.views):
        for pos in range(len(view) + 1):
            assert [m.span() for m in one.matches(entry, i, pos)] == [m.span() for m in compiled.finditer(view, pos)]


@FAST
@given(st.lists(st.sampled_from(_WORDS), max_size=14).map(" ".join), st.data())
def test_cuts_at_once_are_cuts_one_by_one(line, data):
    """``rescan_cuts`` is a scan of the string left, and ``cut_many`` leaves a line as
    cutting its spans one by one from the right does."""
    rules = _rules()
    scanner = noise.scanner_for(rules)
    bounds = sorted(data.draw(st.lists(st.integers(0, len(line)), max_size=8, unique=True)))
    spans = [(bounds[k], bounds[k + 1]) for k in range(0, len(bounds) - 1, 2)]
    left = "".join(line[a:b] for a, b in zip([0] + [e for _, e in spans], [s for s, _ in spans] + [len(line)]))
    assert scanner.rescan_cuts(left, scanner.scan(line)[1], spans, len(line)) == scanner.scan(left)[1]
    plan = [(s, e, "t/x", "other") for s, e in spans]
    one, many = _pass(line, rules, scanner), _pass(line, rules, scanner)
    for s, e, rule_id, kind in reversed(plan):
        one.cut(0, s, e, rule_id, kind)
    many.cut_many(0, plan)
    assert [r.as_dict() for r in one.found] == [r.as_dict() for r in many.found]
    assert (one.views, one.alive, one.masks, [list(h) for h in one.hits]) == \
        (many.views, many.alive, many.masks, [list(h) for h in many.hits])
    if 0 in one.cuts:
        a, b = one.cuts[0], many.cuts[0]
        assert (a.spans, a.starts, a.offsets) == (b.spans, b.starts, b.offsets)


@FAST
@given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=14).map(" ".join), st.data())
def test_scans_carried_to_the_next_round_are_scans(line, data):
    """The next round's lines, scanned ahead from this round's hits, hold what a scan
    finds; and they are the lines ``apply_removals`` makes."""
    from corpus.normalise import _carry_scans, _removal, apply_removals, normalise_layout

    line = normalise_layout(line)
    if "\n" in line or not line:
        return
    scanner = noise.scanner_for(_rules())
    bounds = sorted(data.draw(st.lists(st.integers(0, len(line)), min_size=2, max_size=8, unique=True)))
    kinds = data.draw(st.lists(st.sampled_from(["caption", "byline"]), min_size=len(bounds), max_size=len(bounds)))
    found = [_removal(bounds[k], bounds[k + 1], "t/x", kinds[k], line[bounds[k]:bounds[k + 1]], 0)
             for k in range(0, len(bounds) - 1, 2)]
    by_line = {line: (*scanner.scan(line), None)}
    _carry_scans([line], [0], found, by_line, scanner)
    for new, (bits, hits, masks) in by_line.items():
        if new != line:
            assert (bits, list(hits)) == scanner.scan(new), (line, new)
            assert masks == scanner.masks(new, bits, hits)
    made = [x for x in apply_removals(line, found).split("\n") if x]
    assert all(x in by_line for x in made), (line, made, list(by_line))


# --- run rules ------------------------------------------------------------------------------

def _run_rules(tmp_path, extra: str = "") -> noise.RuleSet:
    path = tmp_path / "runs.toml"
    path.write_text('[[rules]]\nid = "two-caps"\nkind = "related"\nscope = "run"\n'
                    "pattern = '[A-Z][a-z]+ [A-Z][a-z]+'\n" + extra, encoding="utf-8")
    return noise.RuleSet.of(noise.load_profile(path).rules)


def _cut_by_runs(text: str, rules: noise.RuleSet) -> list[str]:
    from corpus.normalise import find_noise_spans

    return [text[r.start: r.end].strip() for r in find_noise_spans(text, rules, _Fields(None, False, None, None, None))]


@pytest.mark.parametrize("text, cut", [
    # Two in a row after a sentence: cut; before a line that starts in lower case: kept.
    ("a line.\nAb Cd\nEf Gh\nthe rest.", []),
    ("a line.\nAb Cd\nEf Gh\nThe rest.", ["Ab Cd", "Ef Gh"]),
    ("a line.\nAb Cd\nEf Gh", ["Ab Cd", "Ef Gh"]),
    # One alone, or a run at the very start, or after a line that did not end a sentence.
    ("a line.\nAb Cd\nThe rest.", []),
    ("Ab Cd\nEf Gh\nThe rest.", []),
    ("a line:\nAb Cd\nEf Gh\nThe rest.", []),
    # Longer than max_run (3 here): a list, kept whole.
    ("a line.\nAb Cd\nEf Gh\nIj Kl\nMn Op\nThe rest.", []),
    ("a line.\nAb Cd\nEf Gh\nIj Kl\nThe rest.", ["Ab Cd", "Ef Gh", "Ij Kl"]),
])
def test_run_scope(tmp_path, text, cut):
    assert _cut_by_runs(text, _run_rules(tmp_path, "max_run = 3\n")) == cut


@pytest.mark.parametrize("extra", ["min_run = 0\n", "min_run = 3\nmax_run = 2\n", "min_run = 'two'\n"])
def test_run_scope_bad_bounds_name_the_rule(tmp_path, extra):
    with pytest.raises(noise.ProfileError, match=r"runs.toml: rule #1 \(two-caps\): min_run"):
        _run_rules(tmp_path, extra)


def test_a_bad_caption_not_names_the_rule(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[[rules]]\nid = "credit"\nkind = "caption-credit"\nscope = "span"\ncaption_before = true\n'
                    "caption_not = '(?:Qua đó'\npattern = 'Ảnh: X'\n", encoding="utf-8")
    with pytest.raises(noise.ProfileError, match=r"p.toml: rule #1 \(credit\): bad caption_not"):
        noise.load_profile(path)
