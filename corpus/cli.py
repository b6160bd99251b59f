"""The `corpus` command: a thin layer over the library API.

Each subcommand has an ``_add_<name>`` function that declares its arguments and a
``_cmd_<name>`` function that calls the library and returns the exit code.
"""
from __future__ import annotations

import argparse
import sys

from . import __version__


def _add_validate(sub) -> None:
    from .validate import CHECKS, help_epilog

    p = sub.add_parser("validate", help="validate record files against the article schema (a CI gate)",
                       description="Validate news records against the article JSON Schema and the checks below; "
                                   "report every error with its place, then a summary line.",
                       epilog=help_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", help="files, folders or globs; - for stdin")
    p.add_argument("--schema", default="article", metavar="NAME|PATH",
                   help="shipped schema name (article = current, article-1.0.0, ...) or a schema file path "
                        "(default: article)")
    p.add_argument("--format", choices=["text", "json", "github"], default="text",
                   help="text lines, JSON Lines, or GitHub Actions annotations (default: text)")
    p.add_argument("--max-errors", type=int, metavar="N",
                   help="report at most N errors (the summary still counts them all)")
    p.add_argument("--disable", action="append", default=[], metavar="CHECK",
                   help=f"switch a check off (repeatable or comma-separated): {', '.join(CHECKS)}")
    p.add_argument("--strict", action="store_true", help="also report noise the cleaner would remove")
    p.add_argument("--max-line-bytes", type=int, default=None, metavar="N",
                   help="longest JSON Lines line read, in bytes (default: 16 MiB)")
    p.add_argument("--stdin-filename", metavar="NAME",
                   help="name shown for - and whose suffix gives its format (default: sniffed)")
    p.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                   help="worker processes for JSON Lines files (default: one per CPU for a file of 8 MB "
                        "or more, else 1; 0 = one per CPU); the findings are the same, in the same order")


def _cmd_validate(args) -> int:
    from .validate import EXIT_USAGE, CorpusValidator, Options, SchemaError, render_finding, render_summary

    disabled = frozenset(name.strip() for value in args.disable for name in value.split(",") if name.strip())
    if args.max_errors is not None and args.max_errors < 1:
        print("error: --max-errors must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if args.jobs is not None and args.jobs < 0:
        print("error: --jobs must be 0 (one per CPU) or more", file=sys.stderr)
        return EXIT_USAGE
    options = Options(schema=args.schema, disabled=disabled, strict=args.strict, max_errors=args.max_errors,
                      stdin_filename=args.stdin_filename, jobs=args.jobs,
                      **({"max_line_bytes": args.max_line_bytes} if args.max_line_bytes else {}))
    try:
        run = CorpusValidator(options)
    except (SchemaError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for finding in run.run(args.paths):
        print(render_finding(finding, args.format))
    print(render_summary(run.summary, args.format))
    return run.summary.exit_code


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
    p.add_argument("--profiles", action="append", default=[], metavar="DIR",
                   help="a folder of your own noise profiles (*.toml), added to the bundled ones; repeatable")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _cmd_normalise(args) -> int:
    from contextlib import ExitStack
    from pathlib import Path

    from .pipeline import Pipeline, atomic_output, write_outcomes

    out = Path(args.output)
    rejects = Path(args.rejects) if args.rejects else out.with_name(out.name + ".rejects.jsonl")
    from .pipeline import chain_with_profiles

    # A bad profile is a ProfileError (a ValueError): main() reports it and exits with 2.
    pipeline = Pipeline(lang=args.lang, encoding=args.encoding, chain=chain_with_profiles(args.profiles))
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
    p.add_argument("--profiles", action="append", default=[], metavar="DIR",
                   help="a folder of your own noise profiles (*.toml), added to the bundled ones; repeatable")


def _cmd_explain(args) -> int:
    from .explain import explain_input

    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    shown = explain_input(args.input, record_id=args.id, color=color, out=sys.stdout, profile_dirs=args.profiles)
    if not shown:
        print(f"error: no record{' with id ' + args.id if args.id else ''} in {args.input}", file=sys.stderr)
        return 1
    return 0


def _add_diff(sub) -> None:
    p = sub.add_parser("diff", help="ids added, removed and changed between two releases, and schema changes")
    p.add_argument("old", help="older release folder, e.g. dist/NAME/1.0.0")
    p.add_argument("new", help="newer release folder")
    p.add_argument("--json", action="store_true", help="print the full diff as JSON")


def _cmd_diff(args) -> int:
    import json
    from pathlib import Path

    from .release import diff_releases, read_json, render_changelog

    diff = diff_releases(args.old, args.new)
    if args.json:
        print(json.dumps(diff, ensure_ascii=False, indent=2))
    else:
        stats = read_json(Path(args.new) / "stats.json")
        print(render_changelog(stats["version"], stats["date_released"], diff, stats), end="")
    return 0


def _add_verify(sub) -> None:
    p = sub.add_parser("verify", help="check a release: checksums, records against the schema, card against files")
    p.add_argument("release", help="release folder, e.g. dist/NAME/1.0.0")


def _cmd_verify(args) -> int:
    from .release import verify_release

    problems = verify_release(args.release)
    for problem in problems:
        print(f"{args.release}: {problem}", file=sys.stderr)
    print(f"{args.release}: {'FAILED, ' + str(len(problems)) + ' problem(s)' if problems else 'OK'}")
    return 1 if problems else 0


def _add_push(sub) -> None:
    p = sub.add_parser("push", help="upload a verified release to the Hugging Face Hub and tag it v<version>")
    p.add_argument("release", help="release folder, e.g. dist/NAME/1.0.0")
    p.add_argument("--repo-id", required=True, help="Hub dataset repo, ORG/NAME")
    p.add_argument("--dry-run", action="store_true", help="list the operations without doing them")
    p.add_argument("--token", help="Hub token (default: the huggingface_hub login or HF_TOKEN)")


def _cmd_push(args) -> int:
    from .publish import ReleaseExistsError
    from .release import ReleaseVerificationError, push_release

    try:
        operations = push_release(args.release, args.repo_id, dry_run=args.dry_run, token=args.token)
    except (ReleaseVerificationError, ReleaseExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for op in operations:
        print(("would " if args.dry_run else "done: ") + op)
    return 0


COMMANDS = ["normalise", "build", "validate", "explain", "diff", "verify", "push"]


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
