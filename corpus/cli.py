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


COMMANDS = ["validate"]


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
        return globals()[f"_cmd_{args.command}"](args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
