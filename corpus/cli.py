"""The `corpus` command: a thin layer over the library API.

Each subcommand has an ``_add_<name>`` function that declares its arguments and a
``_cmd_<name>`` function that calls the library and returns the exit code.
"""
from __future__ import annotations

import argparse
import sys

from . import __version__


def _add_validate(sub) -> None:
    p = sub.add_parser("validate", help="validate record files against the article schema")
    p.add_argument("paths", nargs="+", help="files, folders or globs; - for stdin")


def _cmd_validate(args) -> int:
    from .validate import load_validator
    import json

    validator = load_validator()
    bad = 0
    for path in args.paths:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                for issue in validator.issues(json.loads(line)):
                    bad += 1
                    print(f"{path}:{n}: {issue}")
    return 1 if bad else 0


def _progress(quiet: bool, desc: str):
    if quiet:
        return None
    from tqdm import tqdm

    return lambda it: tqdm(it, desc=desc, unit=" docs", file=sys.stderr, mininterval=0.5)


def _add_normalise(sub) -> None:
    p = sub.add_parser("normalise", aliases=["normalize"], help="clean raw articles into schema-valid records")
    p.add_argument("inputs", nargs="+", help=".txt files, folders of them, .jsonl or .jsonl.gz files")
    p.add_argument("-o", "--output", required=True, help="output JSONL of clean records")
    p.add_argument("--rejects", help="JSONL of rejected inputs with the reason (default: OUTPUT.rejects.jsonl)")
    p.add_argument("--audit", help="JSONL of removals and fixes per record id")
    p.add_argument("--lang", default="vi", help="BCP 47 language of inputs that do not say (default: vi)")
    p.add_argument("--encoding", help="force the text encoding of the inputs")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _cmd_normalise(args) -> int:
    from contextlib import ExitStack
    from pathlib import Path

    from .pipeline import Pipeline, atomic_output, write_outcomes

    out = Path(args.output)
    rejects = Path(args.rejects) if args.rejects else out.with_name(out.name + ".rejects.jsonl")
    pipeline = Pipeline(lang=args.lang, encoding=args.encoding)
    with ExitStack() as stack:
        fh = stack.enter_context(atomic_output(out, force=args.force))
        rj = stack.enter_context(atomic_output(rejects, force=args.force))
        au = stack.enter_context(atomic_output(Path(args.audit), force=args.force)) if args.audit else None
        outcomes = pipeline.run(args.inputs)
        prog = _progress(args.quiet, "normalise")
        write_outcomes(prog(outcomes) if prog else outcomes, fh, rj, au)
    st = pipeline.stats
    n_rej = sum(st.rejects.values())
    print(f"{st.records} records -> {out}; {n_rej} rejected -> {rejects}", file=sys.stderr)
    for w in st.warnings[:20]:
        print(f"warning: {w}", file=sys.stderr)
    if st.inputs == 0:
        print("error: the inputs hold no article", file=sys.stderr)
        return 2
    return 0 if st.records else 1


def _add_build(sub) -> None:
    p = sub.add_parser("build", help="build a versioned release from a corpus settings file")
    p.add_argument("settings", nargs="?", help="corpus settings TOML (default: the bundled sample corpus)")
    p.add_argument("--dist", default="dist", help="releases folder (default: ./dist)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _cmd_build(args) -> int:
    from pathlib import Path

    from .pipeline import EmptyCorpusError, build_release

    try:
        release, stats, rejects = build_release(args.settings, Path(args.dist), progress=_progress(args.quiet, "build"))
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except EmptyCorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    n_rej = sum(stats.rejects.values())
    print(f"built {release}: {stats.records} records from {stats.inputs} inputs; "
          f"{n_rej} rejected or dropped {dict(sorted(stats.rejects.items()))} -> {rejects}", file=sys.stderr)
    print(release)
    return 0


def _add_explain(sub) -> None:
    p = sub.add_parser("explain", help="show what the cleaner removed from an input, and why")
    p.add_argument("input", help="a .txt file or a .jsonl file")
    p.add_argument("--id", help="only the record with this id, input id or file stem")
    p.add_argument("--color", choices=["auto", "always", "never"], default="auto")


def _cmd_explain(args) -> int:
    from .explain import explain_input

    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    shown = explain_input(args.input, record_id=args.id, color=color, out=sys.stdout)
    if not shown:
        print(f"error: no record{' with id ' + args.id if args.id else ''} in {args.input}", file=sys.stderr)
        return 1
    return 0


COMMANDS = ["normalise", "build", "validate", "explain"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="corpus", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"corpus {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        globals()[f"_add_{name}"](sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        name = {"normalize": "normalise"}.get(args.command, args.command)
        return globals()[f"_cmd_{name}"](args)
    except KeyboardInterrupt:
        return 130
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        # Input and settings problems: a clear one-line message, never a traceback.
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
