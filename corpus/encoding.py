"""Encoding repair: decode any bytes, repair mojibake and legacy Vietnamese encodings,
and flag what cannot be repaired.

Three entry points, in pipeline order:

* ``decode_bytes``: bytes -> str (BOMs, UTF-16 without BOM, strict UTF-8, UTF-8 with a
  few cp1252 bytes, Windows-1258, legacy font bytes, then charset-normalizer).
* ``repair_text``: legacy TCVN3/VNI and cp1258-read-as-cp1252 conversion, UTF-8 mojibake
  repair (cp1252, latin-1 with C1 controls, cp1258, MacRoman; run by run, with ftfy as the
  fallback for other scripts), then Unicode hygiene (NFC, NBSP, invisibles, Ð -> Đ).
  Every change is recorded as a ``Fix``. Clean text costs one C-level pass over its
  Latin-1 characters and a few single-character tests (perf-notes section 2): about
  10 µs per 4 KB article (bench/bench_encoding.py).
* ``quality_flags``: what could not be repaired (U+FFFD, 'Th?i', residual mojibake,
  homoglyphs, combining-mark obfuscation). Clean text is cleared by a screen of its UTF-8
  bytes (``utf8_screen``) and a few searches in the str; anything the screen cannot clear
  gets the full check. About 8 µs per 4 KB article when the caller screens the JSON line
  the text came from, 17 µs when the text is encoded for it (37 µs before the screen).

The guiding rule, as in ftfy, is to prefer missing a repair over a false repair: a
rewrite is kept only when the result is plausible (valid UTF-8 that decodes to Latin or
Vietnamese letters and punctuation, or Vietnamese syllables where there were none).
"""
from __future__ import annotations

import codecs
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import ftfy
import ftfy.bad_codecs  # noqa: F401  (registers the sloppy-windows-125x codecs)

from .resources import data_dir

__all__ = ["Fix", "Decoded", "UndecodableError", "decode_bytes", "repair_text",
           "quality_flags", "utf8_screen", "passes_screen", "dedup_key", "is_vietnamese_syllable"]


@dataclass(frozen=True)
class Fix:
    """One change, replayable and auditable like ftfy's explanation steps."""

    step: str    # e.g. "decode:utf-16", "legacy:tcvn3", "mojibake:utf8-as-cp1252", "nfc"
    detail: str  # short human text, e.g. "3 sequences repaired"


class UndecodableError(ValueError):
    """The bytes are not text in any encoding we can recognise; the message says why."""


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    fixes: tuple[Fix, ...]


# =========================================================================================
# Vietnamese letters and syllables
# =========================================================================================

_TONE_MARKS = "\u0301\u0300\u0309\u0303\u0323"  # acute, grave, hook, tilde, dot below
_VOWELS = "aăâeêioôơuưy"
_PLAIN_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzăâêôơưđ")


def _build_tone_tables() -> tuple[dict[str, tuple[str, str]], dict[tuple[str, str], str]]:
    """toned letter -> (base letter, mark) and back, lower case only."""
    split, join = {}, {}
    for base in _VOWELS:
        for mark in _TONE_MARKS:
            toned = unicodedata.normalize("NFC", base + mark)
            split[toned] = (base, mark)
            join[(base, mark)] = toned
    return split, join


_SPLIT_TONE, _JOIN_TONE = _build_tone_tables()

_ONSETS = ("ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr",
           "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "")

# Rhymes without tone marks. 'ynh', 'yt', 'ych' only occur after 'qu' (quỳnh, quýt).
_RHYMES = frozenset("""
a ac ach ai am an ang anh ao ap at au ay
ăc ăm ăn ăng ăp ăt
âc âm ân âng âp ât âu ây
e ec em en eng eo ep et
ê êch êm ên ênh êp êt êu
i ia ich im in inh ip it iu iêc iêm iên iêng iêp iêt iêu
o oc oi om on ong op ot oo ooc oong
oa oac oach oai oam oan oang oanh oao oap oat oay oăc oăm oăn oăng oăt
oe oen oeo oet
ô ôc ôi ôm ôn ông ôp ôt
ơ ơi ơm ơn ơp ơt
u ua uân uâng uât uây uc ui um un ung up ut uy uya uych uyên uyêt uynh uyt uyu
uê uêch uênh uơ uôc uôi uôm uôn uông uôt
ư ưa ưc ưi ưm ưn ưng ươc ươi ươm ươn ương ươp ươt ươu ưt ưu
y yêm yên yêt yêu ynh yt ych
""".split())

_QU_ONLY_RHYMES = frozenset({"ynh", "yt", "ych"})
_STOP_CODAS = ("c", "ch", "p", "t")          # closed syllables take only acute or dot
_STYLE_RHYMES = frozenset({"oa", "oe", "uy"})  # open rhymes whose tone placement varies


def _tone_slots(rhyme: str) -> frozenset[int]:
    """Indices in ``rhyme`` where the tone mark may sit (both styles for oa/oe/uy)."""
    vowels = [i for i, ch in enumerate(rhyme) if ch in _VOWELS]
    marked = [i for i in vowels if rhyme[i] in "ăâêôơư"]
    if marked:
        return frozenset({marked[-1]})
    if rhyme[-1] not in _VOWELS:              # closed syllable: the last vowel
        return frozenset({vowels[-1]})
    if rhyme in _STYLE_RHYMES:
        return frozenset({0, 1})
    return frozenset({vowels[1] if len(vowels) == 3 else vowels[0]})


_TONE_SLOTS = {r: _tone_slots(r) for r in _RHYMES}


def _spelling_ok(onset: str, rhyme: str) -> bool:
    if rhyme in _QU_ONLY_RHYMES:
        return onset == "qu"
    front = rhyme[0] in "ieêy"
    if onset in ("k", "gh", "ngh"):
        return front
    if onset in ("c", "ng"):
        return not front
    if onset == "g":
        return rhyme[0] not in "eê"
    return True


@dataclass(frozen=True)
class _Syllable:
    onset: str
    rhyme: str           # without tone
    mark: str | None     # combining tone mark, or None
    tone_at: int         # index of the toned letter in the word, -1 if none


@lru_cache(maxsize=65536)
def _parse_syllable(word: str) -> _Syllable | None:
    """Parse one NFC word as a Vietnamese syllable, or None if it is not one."""
    w = word.lower()
    bases, mark, tone_at = [], None, -1
    for i, ch in enumerate(w):
        if ch in _PLAIN_LETTERS:
            bases.append(ch)
            continue
        split = _SPLIT_TONE.get(ch)
        if split is None or mark is not None:
            return None
        bases.append(split[0])
        mark, tone_at = split[1], i
    plain = "".join(bases)
    for onset in _ONSETS:
        if not plain.startswith(onset):
            continue
        rhyme = plain[len(onset):]
        slots = _TONE_SLOTS.get(rhyme)
        if slots is None or not _spelling_ok(onset, rhyme):
            continue
        if mark is not None:
            if tone_at - len(onset) not in slots:
                continue
            if rhyme.endswith(_STOP_CODAS) and mark not in ("\u0301", "\u0323"):
                continue
        return _Syllable(onset, rhyme, mark, tone_at)
    return None


def is_vietnamese_syllable(word: str) -> bool:
    """True if ``word`` (NFC, any case) is a well-formed Vietnamese syllable."""
    return _parse_syllable(word) is not None


# =========================================================================================
# Legacy encodings: TCVN3, VNI, and Windows-1258 bytes read as cp1252
# =========================================================================================

# Letters that only Unicode Vietnamese text (or NFD text) contains: a line holding any of
# them was not decoded from single-byte legacy font bytes.
_UNICODE_ONLY_RE = re.compile("[\u0102\u0103\u0110\u0111\u0128\u0129\u0168\u0169"
                              "\u01a0\u01a1\u01af\u01b0\u0300-\u036f\u1ea0-\u1ef9]")


def _char_class(chars) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in sorted(set(chars)))


@dataclass(frozen=True)
class _LegacyScheme:
    name: str
    table: dict[str, str]      # cp1252 view of a byte sequence -> Unicode
    letters: frozenset[str]    # the non-ASCII characters it writes letters with
    seq_re: re.Pattern | None  # longest-first alternation for multi-character keys

    @property
    def token_re(self) -> re.Pattern:
        """A word as this scheme writes it."""
        return _word_re(self.letters)

    def convert(self, token: str) -> str:
        if self.seq_re is None:
            return token.translate(self.table)
        return self.seq_re.sub(self._replace, token)

    def _replace(self, m: re.Match) -> str:
        return self.table[m.group()]


@lru_cache(maxsize=None)
def _word_re(letters: frozenset[str]) -> re.Pattern:
    return re.compile(f"[A-Za-z{_char_class(letters)}]+")


def _load_table(name: str) -> dict:
    return json.loads((data_dir() / name).read_text(encoding="utf-8"))


def _cp1252_view(hex_bytes: str) -> str:
    return bytes.fromhex(hex_bytes).decode("sloppy-windows-1252")


def _make_tcvn3() -> _LegacyScheme:
    table = {_cp1252_view(k): v for k, v in _load_table("tcvn3.json")["bytes"].items()}
    return _LegacyScheme("tcvn3", str.maketrans(table), frozenset(table), None)


def _make_vni() -> _LegacyScheme:
    table = {_cp1252_view(k): v for k, v in _load_table("vni.json")["sequences"].items()}
    keys = sorted(table, key=len, reverse=True)
    letters = frozenset("".join(keys)) - frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return _LegacyScheme("vni", table, letters, re.compile("|".join(map(re.escape, keys))))


class _Cp1258AsCp1252(_LegacyScheme):
    """Windows-1258 bytes decoded as cp1252: 'Tiêìng' -> 'Tiếng' (tone marks are bytes)."""

    def convert(self, token: str) -> str:
        try:
            raw = token.encode("sloppy-windows-1252")
        except UnicodeEncodeError:
            return token
        return unicodedata.normalize("NFC", raw.decode("sloppy-windows-1258"))


_TCVN3 = _make_tcvn3()
_VNI = _make_vni()
_LATIN1_LETTERS = frozenset(chr(o) for o in range(0xC0, 0x100)) - frozenset("×÷")
_CP1258_AS_CP1252 = _Cp1258AsCp1252("cp1258-as-cp1252", {}, _LATIN1_LETTERS, None)
_LEGACY_SCHEMES = (_TCVN3, _VNI, _CP1258_AS_CP1252)
_SCHEMES_BY_NAME = {s.name: s for s in _LEGACY_SCHEMES}
# A word for weighing evidence: every letter any scheme could have written, so that a
# word one scheme cannot write in full ('MÖÙC' has no TCVN3 'Ù') counts against it.
_EVIDENCE_WORD_RE = re.compile(f"[A-Za-z{_char_class(set().union(*(s.letters for s in _LEGACY_SCHEMES)))}]+")
_MIN_LEGACY_WORDS = 2


@lru_cache(maxsize=65536)
def _convert_token(scheme_name: str, token: str) -> str:
    return _SCHEMES_BY_NAME[scheme_name].convert(token)


@lru_cache(maxsize=65536)
def _word_evidence(scheme_name: str, token: str) -> tuple[int, int, int]:
    """(1, 0, _) if the word only makes sense converted, (0, 1, _) if only as it is; the
    last field is 1 if converting joined a vowel + mark pair into a valid syllable, a
    shape specific to VNI and cp1258 ('thoáng' is VNI 'thống' as well as a word)."""
    scheme = _SCHEMES_BY_NAME[scheme_name]
    if not all(c.isascii() or c in scheme.letters for c in token):
        return 0, 1, 0
    converted = _convert_token(scheme_name, token)
    if converted == token or len(converted) < 2:  # a lone vowel proves nothing
        return 0, 0, 0
    before, after = is_vietnamese_syllable(token), is_vietnamese_syllable(converted)
    joined = int(after and len(converted) < len(token))
    return int(after and not before), int(before and not after), joined


def _legacy_evidence(line: str, scheme: _LegacyScheme) -> tuple[int, int, int]:
    """Per line: (words that only make sense converted, words that only make sense as
    they are, words whose conversion joined a vowel + mark pair)."""
    scores = [_word_evidence(scheme.name, t) for t in _EVIDENCE_WORD_RE.findall(line) if not t.isascii()]
    return tuple(map(sum, zip(*scores))) if scores else (0, 0, 0)


@lru_cache(maxsize=65536)
def _convert_word(scheme_name: str, token: str) -> str:
    out = _convert_token(scheme_name, token)
    # All-caps words typed with an upper-case TCVN3 font reuse the lower-case codes.
    letters = [c for c in token if c.isascii() and c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        out = out.upper()
    return out


def _convert_line(line: str, scheme: _LegacyScheme) -> str:
    return scheme.token_re.sub(lambda m: _convert_word(scheme.name, m.group()), line)


def _legacy_lines(text: str) -> list[tuple[int, str, _LegacyScheme]]:
    """Lines to convert, with the one scheme that explains the document."""
    if not _has_latin1_trigger(text, _QUIET_FOR_LEGACY):  # legacy text holds non-Vietnamese Latin-1
        return []
    # Unicode-only letters prove a line was not legacy font bytes, and so does one strong
    # UTF-8 mojibake sequence (legacy words only ever make weak ones, see _WEAK_CONTS).
    lines = [(i, line) for i, line in enumerate(text.split("\n"))
             if not line.isascii() and not _UNICODE_ONLY_RE.search(line) and not _has_strong_sequence_any(line)]
    if not lines:
        return []
    evidence = {s.name: [_legacy_evidence(line, s) for _, line in lines] for s in _LEGACY_SCHEMES}
    totals = {name: [sum(column) for column in zip(*ev)] for name, ev in evidence.items()}
    if totals[_CP1258_AS_CP1252.name][2] == 0:
        # Windows-1258 text writes tones as bytes after the vowel; without one joined pair
        # it is only ã/õ/ý/ð read as ă/ơ/ư/đ, which random Latin-1 words can mimic.
        del totals[_CP1258_AS_CP1252.name]
    # Ties ('sö' is VNI 'sư' and TCVN3 'sử') go to joined pairs, then to TCVN3 (listed first).
    name = max(totals, key=lambda k: (totals[k][0] - totals[k][1], totals[k][2]))
    pos, neg, _ = totals[name]
    # At least two words, and the document as a whole must agree: one foreign word can
    # read as a legacy one (Icelandic 'Það' is TCVN3 'ịað').
    if pos < max(_MIN_LEGACY_WORDS, 3 * neg):
        return []
    scheme = _SCHEMES_BY_NAME[name]
    # Lines whose words read both ways ('phoá' is VNI 'phố') follow the document.
    return [(i, line, scheme) for (i, line), (p, n, _) in zip(lines, evidence[name]) if p >= 3 * n]


def _repair_legacy(text: str, fixes: list[Fix]) -> str:
    plan = _legacy_lines(text)
    if not plan:
        return text
    lines = text.split("\n")
    per_scheme = Counter()
    for i, line, scheme in plan:
        lines[i] = unicodedata.normalize("NFC", _convert_line(line, scheme))
        per_scheme[scheme.name] += 1
    for name, n in sorted(per_scheme.items()):
        step = f"mojibake:{name}" if name == "cp1258-as-cp1252" else f"legacy:{name}"
        fixes.append(Fix(step, f"{n} line{'s' if n > 1 else ''} converted"))
    return "\n".join(lines)


# =========================================================================================
# UTF-8 mojibake
# =========================================================================================

def _byte_map(*codec_names: str) -> dict[str, int]:
    """char -> byte for the high half of these single-byte codecs (must not conflict)."""
    out: dict[str, int] = {}
    for name in codec_names:
        for b in range(0x80, 0x100):
            try:
                ch = bytes([b]).decode(name)
            except UnicodeDecodeError:
                continue
            if out.setdefault(ch, b) != b:
                raise AssertionError(f"{name}: {ch!r} maps to two bytes")
    return out


def _sequence_re(byte_of: dict[str, int]) -> re.Pattern:
    """A UTF-8 lead byte's character and the continuation characters after it.

    One leading character class scans 5x faster than an alternation by length; the
    length the lead byte asks for is checked when the run is read."""
    def chars(lo: int, hi: int) -> str:
        return _char_class(c for c, b in byte_of.items() if lo <= b <= hi)
    return re.compile(f"[{chars(0xC2, 0xF4)}][{chars(0x80, 0xBF)}]{{1,3}}")


# The Windows family shares one table: cp1252 and cp1258 agree wherever both define a
# byte, and latin-1 only adds the C1 controls, so mixed text is repaired in one pass.
_WIN_BYTES = _byte_map("sloppy-windows-1252", "latin-1", "sloppy-windows-1258")
_MAC_BYTES = _byte_map("mac_roman")
_WIN_SEQ_RE = _sequence_re(_WIN_BYTES)
_MAC_SEQ_RE = _sequence_re(_MAC_BYTES)
_WIN_SPLIT_RE = re.compile(f"({_WIN_SEQ_RE.pattern})")
_MAC_SPLIT_RE = re.compile(f"({_MAC_SEQ_RE.pattern})")

_CP1258_ONLY = frozenset(c for c in _byte_map("sloppy-windows-1258") if c not in _byte_map("sloppy-windows-1252"))
_LATIN1_ONLY = frozenset(chr(b) for b in range(0x80, 0xA0)) - frozenset(_byte_map("sloppy-windows-1252"))

# Latin, Vietnamese, their combining marks, punctuation; plus the rest of cp1252
# (ƒ ˆ ˜), so that mojibake of mojibake is undone one layer per round.
_PLAUSIBLE_CLASS = ("\xa0-\u017f\u0192\u01a0\u01a1\u01af\u01b0\u02c6\u02dc\u0300-\u0303\u0306\u0309"
                    "\u031b\u0323\u1e00-\u1eff\u2010-\u2027\u2030-\u203a\u20ab\u20ac\u2122")
_IMPLAUSIBLE_RE = re.compile(f"[^\\x00-\\x7f{_PLAUSIBLE_CLASS}]")
_VIETNAMESE_LETTER_RE = re.compile("[\u0102\u0103\u0110\u0111\u0128\u0129\u0168\u0169"
                                   "\u01a0\u01a1\u01af\u01b0\u1ea0-\u1ef9]")

# A capital letter followed by NBSP or closing punctuation can be clean text: all caps
# ('NGÃ\u00a0BA', '“ĐÃ”'), or a legacy VNI/TCVN3 word before a quote ('ÑEÅ”' is VNI
# 'ĐỂ”'). Such pairs are repaired only next to unambiguous mojibake.
_WEAK_CONTS = frozenset("\xa0’”…–—›")

# Leads (and 3-byte second bytes) of UTF-8 read as cp1252/latin-1/cp1258, then MacRoman.
_MOJIBAKE_TRIGGERS = "ÃÄÅÆĂº»€\x80ÑÎÏ√ƒ≈∆·‚"
_MAC_TRIGGERS = "√ƒ≈∆·‚¬"
_FOREIGN_FOR_FTFY = 2  # sequences that decode to letters of another script


class _Reading(NamedTuple):
    decoded: str | None  # None: valid UTF-8 but not plausible here
    strong: bool         # unambiguous evidence of mojibake
    label: str
    foreign: bool        # a letter of another script (Cyrillic, Greek...): left to ftfy


def _label(chars: str, mac: bool) -> str:
    if mac:
        return "utf8-as-macroman"
    if any(c in _CP1258_ONLY for c in chars):
        return "utf8-as-cp1258"
    if any(c in _LATIN1_ONLY for c in chars):
        return "utf8-as-latin1"
    return "utf8-as-cp1252"


@lru_cache(maxsize=16384)
def _read_sequence(chars: str, mac: bool) -> _Reading | None:
    """How one lead + continuation run reads as UTF-8; None if it is not valid UTF-8."""
    byte_of = _MAC_BYTES if mac else _WIN_BYTES
    lead = byte_of[chars[0]]
    length = 2 if lead <= 0xDF else 3 if lead <= 0xEF else 4
    if len(chars) < length:
        return None
    head, rest = chars[:length], chars[length:]
    try:
        decoded = bytes(byte_of[c] for c in head).decode("utf-8")
    except UnicodeDecodeError:
        return None
    plausible = _IMPLAUSIBLE_RE.search(decoded) is None
    capital_then_closing = length == 2 and head[0].isupper() and head[1] in _WEAK_CONTS
    weak = not mac and (head[0] == "Â" or capital_then_closing)
    # Cyrillic, Greek...: ftfy's job; not C1 controls, nor clean 'Ò”' that reads as 'Ҕ'
    foreign = not plausible and decoded.isalpha() and not capital_then_closing
    return _Reading(decoded + rest if plausible else None, plausible and not weak, _label(head, mac), foreign)


def _readings(text: str, mac: bool = False):
    for m in (_MAC_SEQ_RE if mac else _WIN_SEQ_RE).finditer(text):
        reading = _read_sequence(m.group(), mac)
        if reading is not None:
            yield reading


def _has_strong_sequence(text: str, mac: bool = False) -> bool:
    return any(r.strong for r in _readings(text, mac))


def _has_strong_sequence_any(line: str) -> bool:
    """A strong Windows-family or MacRoman mojibake sequence."""
    return _has_strong_sequence(line) or \
        (any(c in line for c in _MAC_TRIGGERS) and _has_strong_sequence(line, mac=True))


def _whole_text(text: str) -> tuple[str, str] | None:
    """The whole text re-encoded with one codec and read as UTF-8 (perf-notes: fastest)."""
    for label, codec in (("utf8-as-cp1252", "sloppy-windows-1252"), ("utf8-as-latin1", "latin-1"),
                         ("utf8-as-cp1258", "sloppy-windows-1258"), ("utf8-as-macroman", "mac_roman")):
        try:
            fixed = text.encode(codec).decode("utf-8")
        except UnicodeError:
            continue
        if fixed != text and _IMPLAUSIBLE_RE.search(fixed) is None:
            return fixed, label
    return None


def _repair_runs(text: str, mac: bool, fixes: list[Fix]) -> tuple[str, int]:
    """Repair each mojibake sequence on its own (mixed text); returns (text, foreign)."""
    parts = (_MAC_SPLIT_RE if mac else _WIN_SPLIT_RE).split(text)
    sequences = parts[1::2]  # split() with one group: text, sequence, text, ...
    if not sequences:
        return text, 0
    found = Counter(sequences)
    readings = {chars: _read_sequence(chars, mac) for chars in found}
    take_weak = any(r is not None and r.strong for r in readings.values())
    replacement, counts, foreign = {}, Counter(), 0
    for chars, reading in readings.items():
        if reading is None:
            continue
        if reading.decoded is None:  # valid UTF-8 but implausible here
            foreign += found[chars] if reading.foreign else 0
        elif reading.strong or take_weak:
            replacement[chars] = reading.decoded
            counts[reading.label] += found[chars]
    if not replacement:
        return text, foreign
    parts[1::2] = [replacement.get(chars, chars) for chars in sequences]
    for label, n in sorted(counts.items()):
        fixes.append(Fix(f"mojibake:{label}", f"{n} sequence{'s' if n > 1 else ''} repaired run by run"))
    return "".join(parts), foreign


# Bytes lost on the way: NBSP (0xA0) turned into a space, or a byte undefined in cp1252
# (0x81 0x8D 0x8F 0x90 0x9D) dropped or replaced by U+FFFD. Applied only to text that
# had Vietnamese mojibake repaired in the same round, and only where one reading is far
# likelier than the others.
_VOWEL_AFTER = "(?=[aeiouyAEIOUYàáâãèéêìíòóôõùúýăĩũơưÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝĂĨŨƠƯ\u1ea0-\u1ef9])"
_LOST_D_STROKE_RE = re.compile(f"Ä\ufffd?{_VOWEL_AFTER}|Ä\ufffd")   # Đ: the only Vietnamese C4 8x/9x
_LOST_RDQUO_RE = re.compile("â€\ufffd|â€(?=[\\s.,;:!?)]|$)")         # ” = E2 80 9D
_INCOMPLETE_RE = re.compile("(?:[ÂÃÄÅÆ]|á[º»]|â€)\ufffd")               # letter lost: one U+FFFD

# 'Ã ', 'Ă ' (cp1258) and 'áº ' of the round's input are held as private-use marks while
# the sequences around them are decoded, so that clean text produced by decoding
# ('NGÃ' from 'NGÃƒ') is never taken for a lost NBSP.
_A0_CANDIDATES = {"Ã ": ("\ue000", "à"), "Ă ": ("\ue001", "à"), "áº ": ("\ue002", "ạ")}
_A0_MARKS = {mark: (seq, letter) for seq, (mark, letter) in _A0_CANDIDATES.items()}
_A0_CANDIDATE_RE = re.compile("Ã |Ă |áº ")
_A0_MARK_RE = re.compile("[\ue000-\ue002]")


def _mark_a0_candidates(text: str) -> str:
    if any(mark in text for mark in _A0_MARKS) or not _A0_CANDIDATE_RE.search(text):
        return text
    return _A0_CANDIDATE_RE.sub(lambda m: _A0_CANDIDATES[m.group()][0], text)


def _resolve_a0_marks(text: str, restore: bool) -> tuple[str, int]:
    """'và' -> 'vÃ\\u00a0' -> 'vÃ ' once NBSPs became spaces. The space is the lost byte
    when another space follows ('vÃ  được') or when it splits a word ('thÃ nh'); after
    whitespace was collapsed it is both ('HÃ Nội'), so it stays."""
    restored = 0

    def resolve(m: re.Match) -> str:
        nonlocal restored
        seq, letter = _A0_MARKS[m.group()]
        out = _a0_reading(m.string, m.start(), m.end(), seq, letter) if restore else seq
        restored += out != seq
        return out
    return _A0_MARK_RE.sub(resolve, text), restored


def _a0_reading(text: str, i: int, j: int, seq: str, letter: str) -> str:
    if text.startswith(" ", j):
        return letter  # the lost byte, then the word's own space
    if not (text[i - 1] if i else " ").isalpha():
        return seq
    left = text[_word_start(text, i):i]
    right = text[j:_word_end(text, j)]
    if seq == "Ã " and (_is_caps_word(left) or _is_caps_word(right)):
        return seq  # 'NGÃ BA' is clean all-caps text; no Vietnamese syllable ends in ă
    if right and is_vietnamese_syllable(left + letter + right) and not is_vietnamese_syllable(right):
        return letter
    return letter + " "


def _is_caps_word(word: str) -> bool:
    return len(word) >= 2 and word.isupper()


def _word_start(text: str, i: int) -> int:
    while i > 0 and text[i - 1].isalpha():
        i -= 1
    return i


def _word_end(text: str, j: int) -> int:
    while j < len(text) and text[j].isalpha():
        j += 1
    return j


def _restore_lost_bytes(text: str) -> tuple[str, int]:
    total = 0
    for pattern, repl in ((_LOST_D_STROKE_RE, "Đ"), (_LOST_RDQUO_RE, "”"), (_INCOMPLETE_RE, "\ufffd")):
        text, n = pattern.subn(repl, text)
        total += n
    return text, total


_FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False, remove_terminal_escapes=False, restore_byte_a0=False,
    fix_latin_ligatures=False, fix_character_width=False, uncurl_quotes=False,
    fix_line_breaks=False, remove_control_chars=False, normalization=None, explain=True)


def _repair_mojibake_once(text: str, fixes: list[Fix]) -> str:
    whole = _whole_text(text)
    if whole is not None and _has_strong_sequence(text, mac=whole[1] == "utf8-as-macroman"):
        fixes.append(Fix(f"mojibake:{whole[1]}", "whole text"))
        return whole[0]
    marked = _mark_a0_candidates(text)
    fixed, foreign = _repair_runs(marked, False, fixes)
    if any(c in fixed for c in _MAC_TRIGGERS):
        fixed, foreign_mac = _repair_runs(fixed, True, fixes)
        foreign += foreign_mac
    repaired = fixed != marked
    vietnamese = repaired and _VIETNAMESE_LETTER_RE.search(fixed) is not None
    lost = 0
    if marked is not text:
        fixed, lost = _resolve_a0_marks(fixed, restore=repaired)
    if vietnamese:
        fixed, n = _restore_lost_bytes(fixed)
        lost += n
    if lost:
        fixes.append(Fix("mojibake:lost-bytes", f"{lost} sequence{'s' if lost > 1 else ''} with a lost byte"))
    if foreign >= _FOREIGN_FOR_FTFY:
        fixed = _ftfy_foreign_lines(fixed, fixes)
    return fixed


def _ftfy_foreign_lines(text: str, fixes: list[Fix]) -> str:
    """ftfy.fix_encoding on the lines holding mojibake of other scripts, and only there."""
    lines = text.split("\n")
    explained = []
    for i, line in enumerate(lines):
        if sum(r.foreign for r in _readings(line)) + sum(r.foreign for r in _readings(line, mac=True)) < 1:
            continue
        result = ftfy.fix_encoding_and_explain(line, _FTFY_CONFIG)
        if result.text != line:
            lines[i] = result.text
            explained += [f"{a} {b}" for a, b in (result.explanation or ())]
    if not explained:
        return text
    fixes.append(Fix("mojibake:ftfy", ", ".join(dict.fromkeys(explained))))
    return "\n".join(lines)


def _repair_mojibake(text: str, fixes: list[Fix]) -> str:
    # Repeat for mojibake of mojibake ('ÃƒÂ©' -> 'Ã©' -> 'é'); a few rounds suffice.
    for _ in range(3):
        if not any(c in text for c in _MOJIBAKE_TRIGGERS) and "\ufffd" not in text:
            break
        fixed = _repair_mojibake_once(text, fixes)
        if fixed == text:
            break
        text = fixed
    return text


# =========================================================================================
# Unicode hygiene
# =========================================================================================

_SPACES = ("\xa0", "\u202f")
_INVISIBLES = ("\u200b", "\u2060", "\u200e", "\u200f", "\ufeff", "\xad")
# ZWNJ/ZWJ spell words in Persian and Indic scripts and build emoji; drop a run of them
# only after Latin letters, spaces or punctuation (or at the start).
_JOINERS_RE = re.compile("[\u200c\u200d]+")



def _drop_joiners(m: re.Match) -> str:
    before = m.string[m.start() - 1] if m.start() else " "
    return "" if before <= "\u024f" or "\u1e00" <= before <= "\u1eff" else m.group()


# Đ only ever starts a Vietnamese word; Icelandic ð never does, so word-initial is safe.
_ETH_RE = re.compile("(?<![^\\W\\d_])[Ðð](?=[^\\W\\d_])")


def _name(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def _apply_hygiene(text: str, fixes: list[Fix]) -> str:
    replaced = []
    for ch in _SPACES:
        if ch in text:
            replaced.append(f"{text.count(ch)} x {_name(ch)}")
            text = text.replace(ch, " ")
    if replaced:
        fixes.append(Fix("nbsp", "replaced " + ", ".join(replaced) + " with a space"))
    removed = []
    for ch in _INVISIBLES:
        if ch in text:
            removed.append(f"{text.count(ch)} x {_name(ch)}")
            text = text.replace(ch, "")
    if "\u200c" in text or "\u200d" in text:
        found = Counter(ch for m in _JOINERS_RE.finditer(text) if not _drop_joiners(m) for ch in m.group())
        if found:
            removed += [f"{n} x {_name(ch)}" for ch, n in sorted(found.items())]
            text = _JOINERS_RE.sub(_drop_joiners, text)
    if removed:
        fixes.append(Fix("invisible", "removed " + ", ".join(removed)))
    nfc = unicodedata.normalize("NFC", text)
    if nfc is not text and nfc != text:
        fixes.append(Fix("nfc", f"{len(text) - len(nfc)} combining marks composed"))
        text = nfc
    if "Ð" in text or "ð" in text:
        text, n = _ETH_RE.subn(lambda m: "Đ" if m.group() == "Ð" else "đ", text)
        if n:
            fixes.append(Fix("eth-to-dstroke", f"{n} x Ð/ð -> Đ/đ"))
    return text


# =========================================================================================
# Tone placement (hòa / hoà)
# =========================================================================================

# Only o+a, o+e and u+y with a tone differ between the styles; a pattern that starts with
# one character class scans fast, and the word is then parsed.
_TONE_STYLE_RE = re.compile("[oOuUòóỏõọÒÓỎÕỌùúủũụÙÚỦŨỤ][aeyAEYàáảãạèéẻẽẹỳýỷỹỵÀÁẢÃẠÈÉẺẼẸỲÝỶỸỴ]")
_TONE_STYLE_PAIRS = frozenset(a + b for a, b in (("o", "a"), ("o", "e"), ("u", "y")))


def _restyle_word(word: str, style: str) -> str:
    syl = _parse_syllable(word)
    if syl is None or syl.rhyme not in _STYLE_RHYMES or syl.mark is None:
        return word
    # "new" puts the mark on the first vowel (hòa, thúy), "old" on the second (hoà, thuý).
    target = len(syl.onset) + (0 if style == "new" else 1)
    if target == syl.tone_at:
        return word
    chars = list(word)
    base_here, _ = _SPLIT_TONE[chars[syl.tone_at].lower()]
    moved = _JOIN_TONE[(chars[target].lower(), syl.mark)]
    chars[syl.tone_at] = base_here.upper() if chars[syl.tone_at].isupper() else base_here
    chars[target] = moved.upper() if chars[target].isupper() else moved
    return "".join(chars)


def _unify_tone_style(text: str, style: str, fixes: list[Fix]) -> str:
    pieces, pos, n = [], 0, 0
    for m in _TONE_STYLE_RE.finditer(text):
        pair = m.group().lower()
        if pair.isascii() or "".join(_SPLIT_TONE.get(c, (c,))[0] for c in pair) not in _TONE_STYLE_PAIRS:
            continue
        start, end = _word_start(text, m.start()), _word_end(text, m.end())
        if start < pos:
            continue
        word = text[start:end]
        restyled = _restyle_word(word, style)
        if restyled != word:
            pieces += [text[pos:start], restyled]
            pos, n = end, n + 1
    if not n:
        return text
    fixes.append(Fix("tone-style", f"{n} word{'s' if n > 1 else ''} rewritten in the {style} style"))
    return "".join(pieces) + text[pos:]


# =========================================================================================
# repair_text
# =========================================================================================

# The pre-check. Every legacy byte, C1 control, NBSP, soft hyphen, Ð and most mojibake
# leads are in U+0080-U+00FF, where clean Vietnamese only has its own letters: dropping
# other characters while encoding to latin-1, then deleting ASCII and those letters,
# tests them all in one C pass (~6 µs per 4 KB). Ã Ì Ò stay triggers (cp1252/cp1258 leads).
_QUIET_LATIN1 = bytes(range(0x80)) + "àáâãèéêìíòóôõùúýÀÁÂÈÉÊÍÓÔÕÙÚÝ".encode("latin-1")
_OTHER_TRIGGERS = "\u202f\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\ufffdĂ€‚√ƒ≈∆"


_QUIET_FOR_LEGACY = _QUIET_LATIN1 + b"\xa0"  # no legacy scheme writes a letter with NBSP


def _has_latin1_trigger(text: str, quiet: bytes = _QUIET_LATIN1) -> bool:
    return bool(text.encode("latin-1", "ignore").translate(None, quiet))


def _has_trigger(text: str) -> bool:
    if _has_latin1_trigger(text):
        return True
    for ch in _OTHER_TRIGGERS:
        if ch in text:
            return True
    return False


_MAX_PASSES = 3


def _may_repair_again(text: str, fixes: list[Fix]) -> bool:
    """Repeat until nothing changes, so the result is a fixed point: one repair can expose
    another ('\u00a0Æ¢' is mojibake ftfy sees once the NBSP is a space; a line left with
    TCVN3 words once its mojibake or a soft hyphen is gone). NBSPs alone expose no legacy."""
    if any(c in text for c in _MOJIBAKE_TRIGGERS):
        return True
    return any(f.step != "nbsp" for f in fixes) and _has_latin1_trigger(text, _QUIET_FOR_LEGACY)


def repair_text(text: str, *, unify_tones: str | None = None) -> tuple[str, list[Fix]]:
    """Repair legacy encodings and mojibake, then apply Unicode hygiene.

    Clean NFC text without any trigger character comes back as the same object with no
    fixes. ``unify_tones``: None keeps tone placement as written, "new" writes hòa/thúy,
    "old" writes hoà/thuý (only open oa/oe/uy syllables differ; qu/gi are onsets).
    """
    if unify_tones not in (None, "new", "old"):
        raise ValueError(f"unify_tones must be None, 'new' or 'old', not {unify_tones!r}")
    fixes: list[Fix] = []
    if _has_trigger(text):
        for _ in range(_MAX_PASSES):
            before, done = text, len(fixes)
            text = _repair_legacy(text, fixes)  # before hygiene: TCVN3 'ư' is a soft hyphen
            text = _repair_mojibake(text, fixes)
            text = _apply_hygiene(text, fixes)
            if text == before or not _may_repair_again(text, fixes[done:]):
                break
    else:
        nfc = unicodedata.normalize("NFC", text)
        if nfc is not text and nfc != text:
            fixes.append(Fix("nfc", f"{len(text) - len(nfc)} combining marks composed"))
            text = nfc
    if unify_tones is not None:
        text = _unify_tone_style(text, unify_tones, fixes)
    return text, fixes


# =========================================================================================
# quality_flags
# =========================================================================================

_URLISH = ("://", "www.", "=", "/", "&")


def _has_question_mark_letters(text: str) -> bool:
    """'Th?i s?': a ? standing for a lost letter inside a word (not 'kê?', not '?q=')."""
    i = text.find("?")
    while i != -1:
        j = i
        while j < len(text) and text[j] == "?":
            j += 1
        before = text[i - 1] if i else " "
        after = text[j] if j < len(text) else " "
        if before.isalpha() and after.isalpha() and (after.islower() or (before.isupper() and after.isupper())):
            start = max(text.rfind(" ", 0, i), text.rfind("\n", 0, i)) + 1
            end = min(k for k in (text.find(" ", j), text.find("\n", j), len(text)) if k != -1)
            if not any(u in text[start:end] for u in _URLISH):
                return True
        i = text.find("?", j)
    return False


_DROPPED_AFTER_RE = re.compile("(?<=[^\\W\\d_])á»(?=[ \\w])")
_WIN_CONT = f"[{_char_class(c for c, b in _WIN_BYTES.items() if 0x80 <= b <= 0xBF)}]"
_RESIDUAL_RE = re.compile(f"á[»º]{_WIN_CONT}|áº|Æ[°¡¯]|Ä[‘\\x90\\x91]|â€{_WIN_CONT}|Ã[\\x80-\\x9f©¡¢£¨ª¬³´µ¹º½]"
                          "|√[≠°©±ß¥†]|·[∫ª]")


def _has_residual_mojibake(text: str) -> bool:
    if not any(c in text for c in _MOJIBAKE_TRIGGERS):
        return False
    if _RESIDUAL_RE.search(text) or _has_strong_sequence(text):
        return True
    # 'vá» dict': a byte dropped after 'á»'; but «giá» is a guillemet after 'á'
    return "«" not in text and _DROPPED_AFTER_RE.search(text) is not None


# Latin look-alikes used to dodge filters: Cyrillic, Greek, and small capitals. Looking
# for the UTF-8 lead bytes of IPA (small capitals), Greek and Cyrillic is memchr-fast,
# unlike range checks on str; the common small capitals elsewhere are listed.
_LOOKALIKE_UTF8_LEADS = (b"\xc9", b"\xca", b"\xce", b"\xcf", b"\xd0", b"\xd1", b"\xd2", b"\xd3", b"\xd4")
_SMALL_CAPITALS = "ᴀᴄᴅᴇᴊᴋᴍᴏᴘᴛᴜᴠᴡᴢꜱ"
_WORD_RE = re.compile("[^\\W\\d_]+")


@lru_cache(maxsize=4096)
def _script(ch: str) -> str:
    o = ord(ch)
    if 0x0370 <= o <= 0x03FF or 0x1F00 <= o <= 0x1FFF:
        return "greek"
    if 0x0400 <= o <= 0x052F:
        return "cyrillic"
    if "SMALL CAPITAL" in unicodedata.name(ch, "") or 0x0250 <= o <= 0x02AF:
        return "lookalike"
    if o < 0x0250 or 0x1E00 <= o <= 0x1EFF:
        return "latin"
    return "other"


def _has_homoglyphs(text: str, utf8: bytes) -> bool:
    """Words mixing Latin letters with Cyrillic/Greek/small capitals ('sιɴн ở мức').
    A whole Cyrillic or Greek word is a quotation, not obfuscation; one mixed word can
    be notation ('ΔT'), so two are needed."""
    if not any(lead in utf8 for lead in _LOOKALIKE_UTF8_LEADS) and not any(c in text for c in _SMALL_CAPITALS):
        return False
    mixed = 0
    for m in _WORD_RE.finditer(text):
        word = m.group()
        if word.isascii():
            continue
        scripts = {_script(c) for c in word}
        if "latin" in scripts and scripts & {"greek", "cyrillic", "lookalike"}:
            mixed += 1
            if mixed >= 2:
                return True
    return False


_COMBINING_UTF8_LEADS = (b"\xcc", b"\xcd")  # U+0300-036F, the marks used to obfuscate


def _has_combining_obfuscation(text: str, utf8: bytes) -> bool:
    """Marks that NFC cannot compose, on punctuation or repeated letter after letter
    ('b̼.̼o̼'); a lone mark on a letter (IPA, Yoruba) is not obfuscation."""
    if not any(lead in utf8 for lead in _COMBINING_UTF8_LEADS):
        return False
    text = unicodedata.normalize("NFC", text)
    base, marks_here, marks_before = " ", set(), set()
    for ch in text:
        if unicodedata.combining(ch):
            if not base.isalpha() or ch in marks_before:
                return True
            marks_here.add(ch)
        else:
            base, marks_before, marks_here = ch, marks_here, set()
    return False


# --- the clean-text screen --------------------------------------------------------------
# Every flag needs a character that clean Vietnamese lacks: U+FFFD, '?' before a letter, a
# residual-mojibake trigger, a homoglyph lead byte or small capital, a combining mark. Most
# of them have a UTF-8 byte that Vietnamese never uses, which memchr finds in microseconds
# (a whole regex or translate pass costs more than twenty of them). The rest are looked for
# in the str (Ã Å Ñ Ï, bytes shared with 'ă', 'ễ', 'đ', 'ỏ') or, for the small capitals
# E1 B4 xx, as B4 followed by their last byte: in Vietnamese B4 only ends a letter ('ô').
# "Never uses" means: no byte of ASCII, the lower-case letters, Đ or the usual punctuation.
_VIETNAMESE_UTF8 = frozenset(range(0x80)) | frozenset(("".join(_SPLIT_TONE) + "ăâêôơưđĐ“”‘’–—…•").encode())


def _screen_plan() -> tuple[dict[int, str | None], str, re.Pattern | None]:
    """{byte: the flag characters it stands for, or None for a full check}, the characters
    to look for in every str, and the regex for the rest; all derived from the flag sets."""
    witnesses: dict[int, str | None] = {lead[0]: None for lead in _LOOKALIKE_UTF8_LEADS + _COMBINING_UTF8_LEADS}
    on_str, tails = "", {}
    for ch in dict.fromkeys("\ufffd" + _MOJIBAKE_TRIGGERS + _SMALL_CAPITALS):
        utf8 = ch.encode()
        rare = next((b for b in utf8 if b not in _VIETNAMESE_UTF8), None)
        if rare is not None:
            if rare not in witnesses or witnesses[rare] is not None:
                witnesses[rare] = (witnesses.get(rare) or "") + ch
        elif len(utf8) == 3:
            tails.setdefault(utf8[1], set()).add(utf8[2])
        else:
            on_str += ch
    pattern = b"|".join(re.escape(bytes([mid])) + b"[" + b"".join(re.escape(bytes([e])) for e in sorted(ends)) + b"]"
                        for mid, ends in sorted(tails.items()))
    return witnesses, on_str, re.compile(pattern) if pattern else None


_SCREEN_WITNESSES, _SCREEN_ON_STR, _SCREEN_TAIL_RE = _screen_plan()
_SCREEN_BYTES = tuple(_SCREEN_WITNESSES)
_QUESTION_LETTER_RE = re.compile(r"\?[^\W\d_]")  # [^\W\d_] holds every str.isalpha() character
_OWN_UTF8 = object()


def utf8_screen(utf8: bytes) -> str | None:
    """The characters ``quality_flags`` still has to look for in a text held by ``utf8``, or
    None when the bytes hold one that only the full check can judge (a Greek, Cyrillic, IPA
    or combining lead byte, a small capital).

    ``utf8`` is the text's UTF-8 form or any bytes that hold it, such as the JSON Lines line
    it was parsed from if that has no \\u escape (a short escape like \\n only stands for
    punctuation or a control character): one screen then serves every field of the line.
    """
    tests = _SCREEN_ON_STR
    for byte in _SCREEN_BYTES:
        if byte in utf8:
            chars = _SCREEN_WITNESSES[byte]
            if chars is None:
                return None
            tests += chars
    if _SCREEN_TAIL_RE is not None and _SCREEN_TAIL_RE.search(utf8):
        return None
    return tests


def passes_screen(text: str, tests: str) -> bool:
    """True when ``text`` holds none of ``tests`` (what ``utf8_screen`` returned for bytes
    holding it) and no '?' before a letter: then ``quality_flags(text)`` is []."""
    for ch in tests:
        if ch in text:
            return False
    # '?' is common in clean text: only '?' before a letter matters (a regex that starts
    # with a literal is a fast scan, unlike one that starts with a character class).
    return "?" not in text or _QUESTION_LETTER_RE.search(text) is None


def quality_flags(text: str, *, screen: str | None = _OWN_UTF8) -> list[str]:  # type: ignore[assignment]
    """Problems left in ``text`` (sorted values of the schema's quality_flags enum).

    Clean text returns [] after a screen (``utf8_screen``) proves that none of the
    characters any flag needs is present; anything else gets the full check, so the result
    is the same either way. ``screen``: what ``utf8_screen`` returned for bytes holding this
    text (the JSON line it was parsed from), when the caller has them; by default the text's
    own UTF-8 is screened.
    """
    utf8 = None
    if screen is _OWN_UTF8:
        utf8 = text.encode("utf-8", "surrogatepass")
        screen = utf8_screen(utf8)
    if screen is not None and passes_screen(text, screen):
        return []
    return _full_quality_flags(text, text.encode("utf-8", "surrogatepass") if utf8 is None else utf8)


def _full_quality_flags(text: str, utf8: bytes) -> list[str]:
    flags = []
    if "\ufffd" in text:
        flags.append("replacement-character")
    if "?" in text and _has_question_mark_letters(text):
        flags.append("question-mark-letters")
    if _has_residual_mojibake(text):
        flags.append("residual-mojibake")
    if _has_homoglyphs(text, utf8):
        flags.append("homoglyphs")
    if _has_combining_obfuscation(text, utf8):
        flags.append("combining-obfuscation")
    return sorted(flags)


# =========================================================================================
# dedup_key
# =========================================================================================

_NON_WORD_RE = re.compile(r"[\W_]+")


def dedup_key(text: str) -> str:
    """Key for duplicate detection: repaired, NFC, one tone style ('new': hòa), casefolded,
    and with every run of punctuation and whitespace collapsed to one space, so the same
    article with other quotes, dashes or spacing gets the same key."""
    repaired, _ = repair_text(text, unify_tones="new")
    return _NON_WORD_RE.sub(" ", repaired.casefold()).strip()


# =========================================================================================
# decode_bytes
# =========================================================================================

_BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_BINARY_SIGNATURES = (
    (b"\x1f\x8b", "gzip"), (b"PK\x03\x04", "zip"), (b"%PDF-", "PDF"), (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"\x7fELF", "ELF"), (b"(\xb5/\xfd", "zstd"),
)
_CONTROL_BYTES = bytes(b for b in range(0x20) if b not in b"\t\n\r\f\x1b")
_UTF8_MULTIBYTE_RE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
# Code pages charset-normalizer cannot tell apart on short Latin text; the web's default
# for all of them is windows-1252 (WHATWG maps latin-1 to it as well).
_LATIN_CODEPAGES = frozenset({
    "cp1250", "cp1252", "cp1254", "cp1257", "latin_1", "iso8859_2", "iso8859_3", "iso8859_4",
    "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_15", "iso8859_16",
    "cp437", "cp775", "cp850", "cp852", "cp858", "cp1125", "mac_roman", "mac_latin2",
    "mac_iceland", "mac_turkish", "cp1258",
})


def _cp1252_fallback(exc: UnicodeDecodeError) -> tuple[str, int]:
    return exc.object[exc.start:exc.end].decode("sloppy-windows-1252"), exc.end


codecs.register_error("corpus-cp1252-fallback", _cp1252_fallback)


def _binary_reason(data: bytes) -> str | None:
    for magic, kind in _BINARY_SIGNATURES:
        if data.startswith(magic):
            return f"binary data: {kind} signature"
    sample = data[:65536]
    nul = sample.count(0)
    if nul and nul / len(sample) >= 0.01:
        return f"binary data: {round(100 * nul / len(sample))}% NUL bytes"
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if controls / len(sample) >= 0.1:
        return f"binary data: {round(100 * controls / len(sample))}% control bytes"
    return None


def _sniff_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: NUL high bytes on one side of most pairs (Latin text)."""
    sample = data[:4096]
    if len(data) % 2 or len(sample) < 4:
        return None
    pairs = len(sample) // 2
    even = sample[0::2].count(0) / pairs
    odd = sample[1::2].count(0) / pairs
    if odd >= 0.3 and even <= 0.05:
        return "utf-16-le"
    if even >= 0.3 and odd <= 0.05:
        return "utf-16-be"
    return None


def _vietnamese_words(text: str) -> tuple[int, int]:
    """(non-ASCII words that are Vietnamese syllables, non-ASCII words that are not)."""
    good = bad = 0
    for m in _WORD_RE.finditer(text):
        word = m.group()
        if not word.isascii():
            if is_vietnamese_syllable(word):
                good += 1
            else:
                bad += 1
    return good, bad


def _looks_like_cp1258(data: bytes) -> str | None:
    """Windows-1258 writes most tones as combining bytes after the vowel."""
    try:
        raw = data.decode("cp1258")
    except UnicodeDecodeError:
        return None
    text = unicodedata.normalize("NFC", raw)
    composed = len(raw) - len(text)
    good, bad = _vietnamese_words(text)
    if composed >= 1 and good > bad:
        return text
    return None


def _decode_forced(data: bytes, encoding: str) -> Decoded:
    legacy = {"tcvn3": _TCVN3, "tcvn": _TCVN3, "vni": _VNI}.get(encoding.lower().replace("-", "").replace("_", ""))
    if legacy is not None:
        view = data.decode("sloppy-windows-1252")
        text = "\n".join(unicodedata.normalize("NFC", _convert_line(line, legacy)) for line in view.split("\n"))
        return Decoded(text, legacy.name, (Fix(f"legacy:{legacy.name}", "forced by the caller"),))
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise UndecodableError(f"unknown encoding {encoding!r}") from None
    if name == "utf-8" and data.startswith(codecs.BOM_UTF8):
        name = "utf-8-sig"
    try:
        text = data.decode(name)
    except UnicodeDecodeError as exc:
        raise UndecodableError(f"not valid {name}: byte 0x{data[exc.start]:02x} at offset {exc.start}") from None
    fixes = (Fix(f"decode:{name}", "forced by the caller"),)
    if name == "cp1258":
        nfc = unicodedata.normalize("NFC", text)
        if nfc != text:
            fixes += (Fix("nfc", f"{len(text) - len(nfc)} combining marks composed"),)
        text = nfc
    return Decoded(text, name, fixes)


def _decode_bom(data: bytes) -> Decoded | None:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                if codec == "utf-8-sig":
                    return None  # a UTF-8 BOM on non-UTF-8 bytes: decide from the rest
                raise UndecodableError(f"byte-order mark says {codec}, but byte {exc.start} is invalid") from None
            return Decoded(text, codec, (Fix(f"decode:{codec}", "removed the byte-order mark"),))
    return None


def decode_bytes(data: bytes, *, encoding: str | None = None) -> Decoded:
    """Decode raw article bytes to text; raise UndecodableError (with the reason) when
    they are binary or fit no encoding. ``encoding`` forces a codec ('tcvn3'/'vni' too)."""
    if not data:
        return Decoded("", encoding or "utf-8", ())
    if encoding:
        return _decode_forced(data, encoding)
    decoded = _decode_bom(data)
    if decoded is not None:
        return decoded
    fixes: tuple[Fix, ...] = ()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
        fixes = (Fix("decode:utf-8-sig", "removed a UTF-8 byte-order mark from non-UTF-8 bytes"),)
    utf16 = _sniff_utf16(data) if b"\x00" in data[:4096] else None
    if utf16:
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError:
            pass
        else:
            return Decoded(text, utf16, fixes + (Fix(f"decode:{utf16}", "no byte-order mark; NUL-byte pattern"),))
    reason = _binary_reason(data)
    if reason:
        raise UndecodableError(reason)
    try:
        return Decoded(data.decode("utf-8"), "utf-8", fixes)
    except UnicodeDecodeError:
        pass
    # UTF-8 with a few stray cp1252 bytes (a pasted curly quote): keep the UTF-8.
    multibyte = len(_UTF8_MULTIBYTE_RE.findall(data))
    invalid = data.decode("utf-8", "replace").count("\ufffd") - data.count("\ufffd".encode())
    if multibyte >= invalid:
        return _decode_utf8_with_stray_bytes(data, invalid, fixes)
    text = _looks_like_cp1258(data)
    if text is not None:
        return Decoded(text, "cp1258", fixes + (Fix("decode:cp1258", "Windows-1258 tone marks composed (NFC)"),))
    view = data.decode("sloppy-windows-1252")
    if _legacy_lines(view):
        return Decoded(view, "cp1252", fixes + (Fix("decode:cp1252", "legacy Vietnamese font bytes; repair_text converts them"),))
    return _decode_guess(data, fixes)


def _decode_utf8_with_stray_bytes(data: bytes, invalid: int, fixes: tuple[Fix, ...]) -> Decoded:
    text = data.decode("utf-8", errors="corpus-cp1252-fallback")
    return Decoded(text, "utf-8", fixes + (Fix("decode:utf-8", f"{invalid} invalid byte runs read as cp1252"),))


def _decode_guess(data: bytes, fixes: tuple[Fix, ...]) -> Decoded:
    import charset_normalizer  # imported late: it is slow to import and rarely needed

    best = charset_normalizer.from_bytes(data).best()
    if best is None:  # not binary (checked before), so read it byte for byte
        return Decoded(data.decode("sloppy-windows-1252"), "cp1252",
                       fixes + (Fix("decode:cp1252", "no encoding fits; read byte for byte as cp1252"),))
    guess = codecs.lookup(best.encoding).name.replace("-", "_")
    if guess in _LATIN_CODEPAGES:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            pass
        else:
            return Decoded(text, "cp1252", fixes + (Fix("decode:cp1252", f"invalid UTF-8; Latin code page (guessed {best.encoding})"),))
    return Decoded(str(best), best.encoding, fixes + (Fix(f"decode:{best.encoding}", "guessed by charset-normalizer"),))
