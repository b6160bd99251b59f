"""`corpus validate` as a pre-commit hook, tried with `pre-commit try-repo` from a
temporary git repository, the way another repository would use it.

The hook repository is a fresh git repository holding a copy of this working tree's
package files (so uncommitted and untracked changes count, and this checkout's git state
is never touched). pre-commit then builds the package and installs it with its
dependencies from the package registry into a new environment: about 45 s with a warm pip
cache. Skipped, with the reason, when git, pre-commit or the registry is not available.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE_FILES = ["pyproject.toml", "README*", "LICENSE*", ".pre-commit-hooks.yaml", "corpus", "schema"]
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
                "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.invalid"}


def pre_commit_command() -> list[str] | None:
    beside_python = Path(sys.executable).with_name("pre-commit")
    found = shutil.which("pre-commit") or (str(beside_python) if beside_python.exists() else None)
    return [found] if found else None


def registry_problem(tmp: Path) -> str | None:
    """Why pip cannot fetch from the package registry, or None if it can."""
    try:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(tmp),
                               "hatchling"], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "pip download timed out"
    return None if done.returncode == 0 else f"pip download failed: {done.stderr.strip()[-300:]}"


def git(*args, cwd: Path) -> None:
    subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args], cwd=cwd,
                   check=True, capture_output=True, env={**os.environ, **GIT_IDENTITY})


def copy_package(dest: Path) -> None:
    """This working tree's package files (tracked or new, not ignored) into ``dest``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
                             *PACKAGE_FILES], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def record(i: int, **changes) -> dict:
    url = f"https://tin.example.vn/thoi-su/bai-{i}.html"
    rec = {"id": hashlib.sha256(url.encode()).hexdigest()[:16], "schema_version": "1.0.0",
           "title": "Giá lúa miền Tây tăng", "text": "Giá lúa tại các tỉnh miền Tây tăng thêm 300 đồng mỗi kg.",
           "lang": "vi", "url": url, "publisher": "tin.example.vn", "published": "2024-03-01",
           "dateline": None, "attribution": None, "quality_flags": [],
           "provenance": {"input": f"raw/a.jsonl#{i}", "input_id": None,
                          "input_sha256": hashlib.sha256(url.encode()).hexdigest(),
                          "builder": {"name": "newscorpus", "version": "0.1.0"}}}
    rec.update(changes)
    return rec


@pytest.fixture(scope="module")
def tools(tmp_path_factory) -> list[str]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    if not (REPO / ".git").exists():
        pytest.skip(f"{REPO} is not a git checkout")
    command = pre_commit_command()
    if command is None:
        pytest.skip("pre-commit is not installed (pip install pre-commit)")
    problem = registry_problem(tmp_path_factory.mktemp("pip"))
    if problem:
        pytest.skip(f"the package registry is not reachable: {problem}")
    return command


def test_hook_with_pre_commit_try_repo(tools, tmp_path):
    hook_repo, consumer = tmp_path / "hook", tmp_path / "consumer"
    hook_repo.mkdir()
    copy_package(hook_repo)
    assert (hook_repo / ".pre-commit-hooks.yaml").is_file()
    git("init", "-q", cwd=hook_repo)
    git("add", "-A", cwd=hook_repo)
    git("commit", "-q", "-m", "snapshot of the working tree", cwd=hook_repo)

    (consumer / "data").mkdir(parents=True)
    (consumer / "data" / "good.jsonl").write_bytes(b"".join(orjson.dumps(record(i)) + b"\n" for i in (1, 2)))
    (consumer / "data" / "bad.jsonl").write_bytes(
        orjson.dumps(record(3)) + b"\n" + orjson.dumps(record(4, lang="Vietnamese")) + b"\n" + b'{"a": NaN}\n')
    (consumer / "data" / "notes.json").write_text('{"not": "a record"}')  # not matched by the hook
    git("init", "-q", cwd=consumer)
    git("add", "-A", cwd=consumer)

    env = {**os.environ, **GIT_IDENTITY, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    done = subprocess.run([*tools, "try-repo", str(hook_repo), "corpus-validate", "--all-files", "--color", "never"],
                          cwd=consumer, env=env, capture_output=True, text=True, timeout=1200)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "data/bad.jsonl:2:" in out and "/lang" in out and "[pattern]" in out, out
    assert "data/bad.jsonl:3:7: NaN is not a JSON number" in out, out
    assert "data/good.jsonl:" not in out and "notes.json" not in out, out
    assert "2 files, 5 records; 2 errors in 2 invalid records" in out, out
