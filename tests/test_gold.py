"""The cleaner against gold quotes: the seed pages (must be perfect), the bundled sample
corpus, and the real-data development set in ../shared/realdata (skipped if absent)."""
import json
from pathlib import Path

import pytest

from conftest import GOLD_SCORES, REPO, read_jsonl, score_gold
from corpus.pipeline import Pipeline


def clean_inputs(paths, key="stem") -> dict[str, dict]:
    """Run the pipeline; index records by input id, or by file stem for text files."""
    out = {}
    for o in Pipeline().run(paths):
        if o.record is None:
            continue
        prov = o.record["provenance"]
        k = prov["input_id"] if prov["input_id"] is not None else Path(prov["input"].split("#")[0]).stem
        if key == "source":
            k = prov["input"]
        out[k] = o.record
    return out


def report(name, result):
    c = result["counts"]
    GOLD_SCORES[name] = (f"keep-recall {result['keep_recall']:.4f} ({c.get('keep_ok', 0)}/{c.get('keep', 0)})  "
                         f"noise-removal {result['noise_removal']:.4f} ({c.get('drop_ok', 0)}/{c.get('drop', 0)})")


def test_seed_pages_are_cleaned_exactly_as_gold(shared_dir):
    seeds = shared_dir / "seeds"
    gold = read_jsonl(seeds / "gold.jsonl")
    cleaned = clean_inputs([seeds / g["file"] for g in gold])
    result = score_gold(gold, cleaned)
    report("seeds", result)
    assert result["misses"] == []
    for g in gold:
        rec = cleaned[g["id"]]
        assert rec["title"] == g["expect"]["title"]
        assert rec["attribution"] == g["expect"]["attribution"]
        assert rec["dateline"] == g["expect"]["dateline"]


def test_seed_pages_flattened_onto_one_line(shared_dir, tmp_path):
    """The seed pages with everything after the headline glued onto one line: every body
    quote survives and the fields are those of gold."""
    seeds = shared_dir / "seeds"
    gold = read_jsonl(seeds / "gold.jsonl")
    for g in gold:
        lines = (seeds / g["file"]).read_text(encoding="utf-8").split("\n")
        head = next(k for k, line in enumerate(lines) if line.strip() == g["expect"]["title"])
        (tmp_path / g["file"]).write_text("\n".join(lines[: head + 1]) + "\n" + " ".join(lines[head + 1:]),
                                          encoding="utf-8")
    cleaned = clean_inputs([tmp_path / g["file"] for g in gold])
    result = score_gold(gold, cleaned)
    report("seeds, flattened", result)
    assert result["keep_recall"] == 1.0, [m for m in result["misses"] if m[0] == "lost"]
    assert result["noise_removal"] >= 0.9, [m for m in result["misses"] if m[0] != "lost"]
    for g in gold:
        assert {k: cleaned[g["id"]][k] for k in g["expect"]} == g["expect"]


def test_realdata_keep_recall_and_noise_removal(shared_dir):
    real = shared_dir / "realdata"
    if not (real / "gold.jsonl").is_file():
        pytest.skip("realdata gold absent")
    gold = read_jsonl(real / "gold.jsonl")
    cleaned = clean_inputs([real / "articles.jsonl"])
    result = score_gold(gold, cleaned)
    report("realdata", result)
    assert len(cleaned) == len(gold), "every real article must come out as a record"
    # Keep-recall is the product's promise; noise-removal is guarded against regressions.
    assert result["keep_recall"] >= 0.995, result["misses"][:10]
    assert result["noise_removal"] >= 0.90


@pytest.mark.parametrize("glue", [" ", ""], ids=["space", "nothing"])
def test_realdata_flattened_onto_one_line_keeps_the_body(shared_dir, tmp_path, glue):
    """Most public crawls flatten a page onto one line, with or without a separator: the
    same real articles, each glued onto one line, must keep their body (subheadings and
    sentences that lost their line break look like glued captions there)."""
    real = shared_dir / "realdata"
    if not (real / "gold.jsonl").is_file():
        pytest.skip("realdata gold absent")
    gold = read_jsonl(real / "gold.jsonl")
    flat = tmp_path / "flat.jsonl"
    flat.write_text("".join(json.dumps({**a, "text": glue.join(a["text"].split("\n"))}, ensure_ascii=False) + "\n"
                            for a in read_jsonl(real / "articles.jsonl")), encoding="utf-8")
    result = score_gold(gold, clean_inputs([flat]))
    report(f"realdata, flattened ({'space' if glue else 'no separator'})", result)
    assert result["keep_recall"] >= 0.995, [m for m in result["misses"] if m[0] == "lost"]
    assert result["noise_removal"] >= 0.80


def test_sample_corpus_gold():
    """The bundled sample pages: every keep quote survives, noise goes, fields as gold."""
    sample = REPO / "corpus" / "sample"
    gold = read_jsonl(sample / "gold.jsonl")
    by_input = {o.record["provenance"]["input"]: o.record
                for o in Pipeline().run([sample / "pages", sample / "articles.jsonl"], sample)
                if o.record is not None}
    cleaned = {g["id"]: by_input[g["file"]] for g in gold if g["file"] in by_input}
    result = score_gold(gold, cleaned)
    report("sample", result)
    assert set(cleaned) == {g["id"] for g in gold}, "a good sample page was rejected"
    assert result["keep_recall"] == 1.0, [m for m in result["misses"] if m[0] == "lost"]
    assert result["noise_removal"] >= 0.95, [m for m in result["misses"] if m[0] != "lost"]
    wrong = [(g["id"], k, cleaned[g["id"]][k], v) for g in gold for k, v in g["expect"].items() if cleaned[g["id"]][k] != v]
    assert not wrong, wrong


def test_sample_pages_flattened_onto_one_line_keep_the_body(tmp_path):
    """The bundled one-article pages with their body glued onto one line (title line kept):
    no body quote may be lost."""
    sample = REPO / "corpus" / "sample"
    gold = read_jsonl(sample / "gold.jsonl")
    pages = tmp_path / "pages"
    pages.mkdir()
    flattened = {}
    for g in gold:
        src = sample / g["file"]
        if src.suffix != ".txt":
            continue
        try:
            text = src.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue  # the legacy-encoded pages: their decoding is tested elsewhere
        lines = text.lstrip("\ufeff").split("\n")
        # The headline keeps its own line (a one-article file's title is its first body
        # line); what comes before it (captions printed above it) stays as it is.
        head = next((k for k, line in enumerate(lines) if line.strip() == g["expect"].get("title")), None)
        if head is None:
            continue
        (pages / src.name).write_text("\n".join(lines[: head + 1]) + "\n" + " ".join(lines[head + 1:]),
                                      encoding="utf-8")
        flattened[src.name] = g
    assert len(flattened) >= 20
    by_name = {Path(o.record["provenance"]["input"]).name: o.record
               for o in Pipeline().run([pages], tmp_path) if o.record is not None}
    cleaned = {g["id"]: by_name[name] for name, g in flattened.items() if name in by_name}
    result = score_gold([g for g in flattened.values() if g["id"] in cleaned], cleaned)
    report("sample, flattened", result)
    assert len(cleaned) == len(flattened)
    assert result["keep_recall"] == 1.0, [m for m in result["misses"] if m[0] == "lost"]
    assert result["noise_removal"] >= 0.90, [m for m in result["misses"] if m[0] != "lost"]
