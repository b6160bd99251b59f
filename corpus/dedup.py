"""Exact and near-duplicate detection for syndicated wire copies.

The same story is often published by several outlets with a different dateline or
attribution, a sentence or two changed, other quote marks and the other tone-mark style.
``Deduplicator.check`` is fed records in input order and answers, for each one, whether it
duplicates a record it has already seen (first-seen wins, so the answer depends only on the
input order).

- **Exact**: a 16-byte blake2b digest of a normalised key. The key is
  ``corpus.encoding.dedup_key(text)`` (NFC, one tone-mark style, casefolded, whitespace
  collapsed) when that module is importable, followed by our own pass that drops
  punctuation, symbols and invisible format characters, so quote styles, dashes and
  ellipses never make two copies differ.
  Without that module the key falls back to NFC + casefold + the same pass, and the two
  tone-mark styles (hòa/hoà) then give different words.
- **Near**: a datasketch ``MinHash`` (fixed seed) over word shingles of that key, looked
  up in a ``MinHashLSH`` index tuned to miss few pairs at the threshold; a candidate
  counts only if the MinHash Jaccard estimate reaches the threshold, and the earliest
  such record wins. Texts shorter than one shingle only get the exact check.

Only new records are remembered, so a copy of a copy is matched against the original
alone. Memory per remembered record: one 16-byte digest, one row of MinHash hash values
in a shared numpy block, and the LSH band entries (about 1.9 KB in all at the defaults);
no text and no MinHash object is kept. Not thread-safe: one instance per stream.
"""
from __future__ import annotations

import hashlib
import operator
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from datasketch import MinHash, MinHashLSH
from datasketch.storage import DictSetStorage

__all__ = ["Duplicate", "Deduplicator", "normalise_key"]

_DIGEST_SIZE = 16
_SIGNATURE_BLOCK = 1024  # signature rows per numpy block: the store grows without copying
_BATCH_SHINGLES = 4096  # bounds the (shingles x num_perm) temporary of MinHash.update_batch

# Fixed odd multipliers that mix the word hashes of one shingle into a shingle hash.
_MIX = np.array(
    [
        0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9,
    ],
    dtype=np.uint64,
)


@dataclass(frozen=True)
class Duplicate:
    kind: str  # "exact" or "near"
    of: str  # id of the first-seen record it duplicates
    similarity: float  # 1.0 for exact, estimated Jaccard for near


_SPACE, _DELETE = 1, 2  # character classes; 0 keeps the character


@lru_cache(maxsize=1)
def _char_classes() -> np.ndarray:
    """What the key does with each code point: keep it, turn it into a space
    (punctuation, symbols, separators, controls, so every whitespace character too) or
    delete it (invisible format characters: ZWSP, soft hyphen, BOM, joiners).
    Letters, marks and digits of every script are kept. About 0.1 s to build, 1.1 MB."""
    classes = np.zeros(0x110000, dtype=np.uint8)
    for cp in (*range(0x40000), *range(0xE0000, 0xE1000)):
        category = unicodedata.category(chr(cp))
        if category[0] in "PSZ" or category == "Cc":
            classes[cp] = _SPACE
        elif category == "Cf":
            classes[cp] = _DELETE
    return classes


def normalise_key(text: str, base_key: Callable[[str], str] | None = None) -> str:
    """The comparison key of ``text``: words separated by single spaces.

    ``base_key`` (normally ``corpus.encoding.dedup_key``) runs first; then NFC, casefold,
    punctuation and symbols to spaces, format characters deleted, whitespace collapsed.
    Without ``base_key`` the two tone-mark styles (hòa/hoà) still give different keys.
    """
    if base_key is not None:
        text = base_key(text)
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    # One vectorised pass over the code points: 2-3x faster on a 4 KB article than
    # str.translate or set-and-replace followed by " ".join(text.split()).
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    classes = _char_classes().take(cps)
    if (classes == _DELETE).any():
        keep = classes != _DELETE
        cps, classes = cps[keep], classes[keep]
    is_space = classes == _SPACE
    # Keep a character unless it is a space following a space (or the start of the text).
    follows_space = np.empty_like(is_space)
    follows_space[:1] = True
    follows_space[1:] = is_space[:-1]
    cps = np.where(is_space, np.uint32(32), cps)[~(is_space & follows_space)]
    if len(cps) and cps[-1] == 32:
        cps = cps[:-1]
    return cps.tobytes().decode("utf-32-le", "surrogatepass")


def _load_dedup_key() -> Callable[[str], str] | None:
    # corpus.encoding is written by another developer: use its dedup_key (which also
    # unifies the tone-mark style) when it can be imported, and fall back to our own
    # NFC + casefold + whitespace + punctuation key otherwise, so this module works
    # either way. Imported here, not at module level, so a missing module costs nothing.
    try:
        from corpus.encoding import dedup_key
    except ImportError:
        return None
    return dedup_key


# MinHashLSH picks (bands, rows) to minimise weighted false positive and false negative
# areas around the threshold. Its default (0.5, 0.5) makes a pair at Jaccard 0.85 a
# candidate only 69 % of the time (b=9, r=13 at 0.8). Every candidate is confirmed on
# the full signature, so a false positive costs one comparison while a false negative is
# a missed duplicate: weigh misses far more (b=16, r=8: 95 % at 0.8, 99.4 % at 0.85).
_LSH_WEIGHTS = (0.05, 0.95)


@lru_cache(maxsize=None)
def _lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    # MinHashLSH optimises (bands, rows) by numerical integration on every construction;
    # do it once per setting.
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=_LSH_WEIGHTS)
    return lsh.b, lsh.r


def _band_digest(band: bytes) -> bytes:
    # A band of r 32-bit hash values is 52 bytes at r=13; 8 bytes identify it as well
    # (candidates are confirmed on the full signature anyway) and halve each band key.
    return hashlib.blake2b(band, digest_size=8).digest()


class _CompactBuckets(DictSetStorage):
    """An LSH band table whose bucket holds its only key as a bare int, and becomes a
    set when a second key arrives. Almost every bucket has one key, and an empty set
    alone is 216 bytes: with 16 bands this cuts the whole per-record cost from about 5.4
    to 1.9 KB (tracemalloc, 5,000 records of 700 words)."""

    def __init__(self) -> None:
        self._dict: dict = {}

    def get(self, key):
        keys = self._dict.get(key, ())
        return (keys,) if type(keys) is int else keys

    def insert(self, key, *vals, **kwargs) -> None:
        keys = self._dict.get(key)
        if keys is None and len(vals) == 1 and type(vals[0]) is int:
            self._dict[key] = vals[0]
            return
        keys = set(self.get(key))
        keys.update(vals)
        self._dict[key] = keys

    def remove_val(self, key, val, **kwargs) -> None:
        keys = set(self.get(key))
        keys.remove(val)
        self._dict[key] = keys

    def itemcounts(self, **kwargs) -> dict:
        return {k: len(self.get(k)) for k in self._dict}


def _shingle_hashes(key_bytes: bytes, shingle_words: int) -> np.ndarray | None:
    """32-bit hashes of the word shingles of a key, or None if it has too few words."""
    words = key_bytes.split(b" ") if key_bytes else []
    n = len(words) - shingle_words + 1
    if n < 1:
        return None
    word_hashes = np.fromiter(map(zlib.crc32, words), dtype=np.uint64, count=len(words))
    # A polynomial over the word hashes (order matters), then a final avalanche; the top
    # 32 bits are the shingle hash MinHash expects.
    h = np.zeros(n, dtype=np.uint64)
    for j in range(shingle_words):
        h += word_hashes[j : j + n]
        h *= _MIX[j % len(_MIX)]
    h ^= h >> np.uint64(29)
    h *= _MIX[-1]
    return h >> np.uint64(32)


class Deduplicator:
    """Flags exact and near duplicates of records seen earlier; see the module docstring.

    ``stats`` counts ``seen`` (every record checked), ``exact`` and ``near`` (the
    duplicates found); ``key_source`` says which key function is in use.
    """

    def __init__(
        self,
        *,
        near_threshold: float = 0.8,
        num_perm: int = 128,
        shingle_words: int = 5,
        seed: int = 1,
    ) -> None:
        if not 0.0 < near_threshold <= 1.0:
            raise ValueError(f"near_threshold must be in (0, 1], got {near_threshold}")
        if shingle_words < 1:
            raise ValueError(f"shingle_words must be at least 1, got {shingle_words}")
        self.near_threshold = near_threshold
        self.num_perm = num_perm
        self.shingle_words = shingle_words
        self.seed = seed
        self._base_key = _load_dedup_key()
        self.key_source = "corpus.encoding.dedup_key" if self._base_key else "fallback"
        # One MinHash is reused for every record (clear + update); the LSH copies the band
        # bytes it needs and keeps no reference to it. Shingles arrive already hashed.
        self._minhash = MinHash(num_perm=num_perm, seed=seed, hashfunc=operator.index)
        try:
            params = _lsh_params(near_threshold, num_perm)
        except ValueError as err:  # e.g. a threshold near 1 with few permutations
            raise ValueError(
                f"no LSH banding for near_threshold={near_threshold}"
                f" with num_perm={num_perm}: {err}"
            ) from err
        self._lsh = MinHashLSH(num_perm=num_perm, params=params, hashfunc=_band_digest)
        if all(type(table) is DictSetStorage for table in self._lsh.hashtables):
            self._lsh.hashtables = [_CompactBuckets() for _ in self._lsh.hashtables]
        self._exact: dict[bytes, str] = {}  # digest -> id of the first record with that key
        self._ids: list[str] = []  # LSH key (an int) -> record id
        self._blocks: list[np.ndarray] = []  # MinHash hash values, row = LSH key
        self.stats = {"seen": 0, "exact": 0, "near": 0}

    def __len__(self) -> int:
        """Number of records remembered (the ones that were new)."""
        return len(self._exact)

    def check(self, record_id: str, text: str) -> Duplicate | None:
        self.stats["seen"] += 1
        key = normalise_key(text, self._base_key).encode("utf-8", "surrogatepass")
        digest = hashlib.blake2b(key, digest_size=_DIGEST_SIZE).digest()
        first = self._exact.get(digest)
        if first is not None:
            self.stats["exact"] += 1
            return Duplicate("exact", first, 1.0)

        signature = self._signature(key)
        if signature is not None:
            match = self._near_match(signature)
            if match is not None:
                self.stats["near"] += 1
                return match

        self._exact[digest] = record_id
        if signature is not None:
            self._remember_signature(record_id, signature)
        return None

    def _signature(self, key: bytes) -> np.ndarray | None:
        hashes = _shingle_hashes(key, self.shingle_words)
        if hashes is None:
            return None
        minhash = self._minhash
        minhash.clear()
        for start in range(0, len(hashes), _BATCH_SHINGLES):
            minhash.update_batch(hashes[start : start + _BATCH_SHINGLES].tolist())
        return minhash.hashvalues

    def _near_match(self, signature: np.ndarray) -> Duplicate | None:
        # self._minhash holds this signature (set by _signature).
        candidates = self._lsh.query(self._minhash)
        if not candidates:
            return None
        candidates.sort()  # LSH keys are insertion order: the first confirmed one wins
        rows = np.stack([self._row(i) for i in candidates])
        estimates = np.count_nonzero(rows == signature, axis=1) / self.num_perm
        for index, estimate in zip(candidates, estimates.tolist()):
            if estimate >= self.near_threshold:
                return Duplicate("near", self._ids[index], estimate)
        return None

    def _row(self, index: int) -> np.ndarray:
        return self._blocks[index // _SIGNATURE_BLOCK][index % _SIGNATURE_BLOCK]

    def _remember_signature(self, record_id: str, signature: np.ndarray) -> None:
        index = len(self._ids)
        if index % _SIGNATURE_BLOCK == 0:
            self._blocks.append(np.empty((_SIGNATURE_BLOCK, self.num_perm), dtype=signature.dtype))
        self._blocks[-1][index % _SIGNATURE_BLOCK] = signature
        self._ids.append(record_id)
        self._lsh.insert(index, self._minhash, check_duplication=False)
