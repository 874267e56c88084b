"""The ``ecgtool`` command: thin subcommands over the library.

Each subcommand lives in its own module; they only parse options, call the
library and print. Errors in the user's input end the command with one line
on stderr and exit status 1.
"""

from __future__ import annotations

import functools
import os
import sys

import typer

from ecgtool.cli import (adapt, classify, convert, detect, diagnose, evaluate, plot, rhythm,
                         train)

app = typer.Typer(
    name="ecgtool",
    help="Heartbeats, beat labels, rhythm episodes and verdicts from ECG recordings.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _command(fn):
    """Register ``fn`` as a subcommand whose input errors end in one line and status 1."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        from ecgtool.cli._common import NothingWritten
        from ecgtool.errors import EcgToolError

        try:
            rc = fn(*args, **kwargs)
        except EcgToolError as exc:
            print(f"ecgtool: error: {exc}", file=sys.stderr)
            raise typer.Exit(1) from None
        except NothingWritten:
            raise typer.Exit(1) from None
        if rc:
            raise typer.Exit(rc)

    app.command(fn.__name__)(run)
    return fn


for _fn in (convert.convert, detect.detect, classify.classify, rhythm.rhythm, diagnose.diagnose,
            adapt.adapt, train.train, evaluate.evaluate, plot.plot):
    _command(_fn)


def _print_version(value: bool) -> None:
    if value:
        from ecgtool import __version__

        print(f"ecgtool {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.",
                                       is_eager=True, callback=_print_version)) -> None:
    """Heartbeats, beat labels, rhythm episodes and verdicts from ECG recordings."""


def _one_line_warnings() -> None:
    # ecgtool's warnings from outside a record's job (a writer's) read as the
    # jobs' do: one line, no source line under it. Installed once, however
    # often main runs in one process.
    import warnings

    from ecgtool.errors import EcgToolWarning

    shown = warnings.showwarning
    if getattr(shown, "one_line", False):
        return

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, EcgToolWarning):
            print(f"ecgtool: warning: {message}", file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    show.one_line = True
    warnings.showwarning = show


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, turn errors into one line and a status."""
    from ecgtool.errors import EcgToolError

    _one_line_warnings()

    # Bytes on stdin that are no UTF-8 (binary data piped by mistake) reach
    # the readers as escapes, which they name as binary data, instead of
    # failing to decode (a UTF-8 locale's stdin is strict).
    if hasattr(sys.stdin, "reconfigure"):
        try:
            sys.stdin.reconfigure(errors="surrogateescape")
        except (ValueError, OSError):
            pass
    try:
        rc = app(args=argv, prog_name="ecgtool", standalone_mode=False)
    except EcgToolError as exc:
        print(f"ecgtool: error: {exc}", file=sys.stderr)
        return 1
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("ecgtool: aborted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("ecgtool: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our stdout went away (e.g. `| head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # the system refused a read or write: a full disk, a lost mount
        where = exc.filename or "output"
        print(f"ecgtool: error: {where}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # usage errors (click's, vendored by typer) and genuine bugs
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show(file=sys.stderr)
            return exc.exit_code
        if os.environ.get("ECGTOOL_DEBUG"):
            raise
        print(f"ecgtool: internal error: {type(exc).__name__}: {exc} "
              "(set ECGTOOL_DEBUG=1 for details)", file=sys.stderr)
        return 2
    return rc if isinstance(rc, int) else 0


def console() -> None:
    """The ``ecgtool`` program: :func:`main`, then leave without the interpreter's
    teardown (:mod:`ecgtool.teardown`); every output is closed by then."""
    from ecgtool.teardown import exit_now

    exit_now(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
