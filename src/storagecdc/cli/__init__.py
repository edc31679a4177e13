"""The ``storagecdc`` command. One module per subcommand; this module only dispatches and reports errors.

Every error a user can cause ends as one line on stderr and a non-zero exit code: 2 for configuration
errors, 1 for everything else; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from storagecdc import __version__
from storagecdc.errors import ConfigError, StorageCdcError

COMMANDS: dict[str, str] = {
    "decode": "print the decoded binlog stream (the user's mysqlbinlog -vv)",
}
"""Subcommand name -> one-line help; each lives in ``storagecdc.cli.<name>`` with ``add_arguments``/``run``."""

log = logging.getLogger("storagecdc")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storagecdc", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--version", action="version", version=f"storagecdc {__version__}")
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--debug", action="store_true", help="print tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = import_module(f"storagecdc.cli.{name.replace('-', '_')}")
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.debug else getattr(logging, args.log_level.upper())
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    run: Callable[[argparse.Namespace], int] = args._run
    try:
        return run(args)
    except ConfigError as exc:
        return _fail(args, exc, 2)
    except StorageCdcError as exc:
        return _fail(args, exc, 1)
    except KeyboardInterrupt:
        print("storagecdc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        return _fail(args, exc, 70, prefix="internal error: " + type(exc).__name__ + ": ")


def _fail(args: argparse.Namespace, exc: BaseException, code: int, prefix: str = "") -> int:
    if args.debug:
        log.exception("command failed")
    message = " ".join(str(exc).split()) or type(exc).__name__
    hint = "" if args.debug else " (run with --debug for details)" if code == 70 else ""
    print(f"storagecdc: error: {prefix}{message}{hint}", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
