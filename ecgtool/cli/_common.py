"""What every subcommand shares: input options, messages on stderr, output files."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import IO, Iterator, Optional

import typer

from ecgtool.errors import EcgToolError  # noqa: F401  (re-exported for commands)

# Options shared by the commands that read records.
InputsArg = typer.Argument(None, help="Records: WFDB names or .hea files, folders, globs, "
                           "EDF/BDF, ISHNE .ecg, MUSE/aECG .xml, DICOM .dcm, CSV files, "
                           "ecgtool .h5 stores, '-' for stdin, sample:NAME.",
                           show_default=False)
SampleOpt = typer.Option(False, "--sample", help="Also process the bundled MIT-BIH "
                         "records 119 and 208.")
ChannelOpt = typer.Option(None, "--channel", "-c", help="Lead name or index "
                          "(default: MLII, else II, else the first).")
FsOpt = typer.Option(None, "--fs",
                     help="Sampling rate in Hz (CSV, stdin and header-less .mat input).")
ColumnOpt = typer.Option(None, "--column", help="CSV column name or index holding the ECG.")
UnitsOpt = typer.Option(None, "--units",
                        help="Units of CSV and header-less .mat values: mV, uV or V "
                        "(default: a CSV's units row, else mV).")
JobsOpt = typer.Option(1, "--jobs", "-j", min=1, help="Worker processes.")
#: --model of the commands that read classified stores (rhythm, diagnose, plot).
RelabelModelOpt = typer.Option(None, "--model", "-m", help="Classifier directory; a "
                               "classified store's beats keep their classes unless it is given.")
QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress bar or summary.")
ResumeOpt = typer.Option(False, "--resume", help="Keep an existing output store and skip "
                         "the records already complete in it (same command and options).")
AnnotationsOpt = typer.Option(None, "--annotations", metavar="DIR", help="Also write each "
                              "record's beats as a WFDB annotation file DIR/RECORD.ecgtool "
                              "(MIT format, for rdann and bxb).")
SchedulerOpt = typer.Option(None, "--scheduler", help="Run on a Dask cluster: "
                            "tcp://HOST:PORT, or 'local' for an embedded one of --jobs workers.")
SecondLeadOpt = typer.Option(None, "--second-lead", metavar="LEAD", help="Find the R peaks on "
                             "this lead too (name, index, or 'auto': the first other ECG lead): "
                             "each 3 s takes the beats of the lead that reads them better, "
                             "so that noise on one lead costs fewer beats. The beats are "
                             "still delineated and classified on --channel. Beats read from "
                             "a store or a table stay as they were found.")


def say(msg: str) -> None:
    """A message for the user (stderr, never mixed with data)."""
    print(msg, file=sys.stderr, flush=True)


def warn(msg: str) -> None:
    say(f"ecgtool: warning: {msg}")


def error(msg: str) -> None:
    say(f"ecgtool: error: {msg}")


def parse_channel(channel: Optional[str]):
    if channel is None:
        return None
    return int(channel) if channel.lstrip("-").isdecimal() else channel


def read_options(channel=None, fs=None, column=None, units=None, all_leads=False,
                 second_lead=None):
    from ecgtool.io.inputs import ReadOptions

    if units is not None and units.lower() not in ("mv", "uv", "µv", "v"):
        raise EcgToolError(f"unknown units {units!r} (use mV, uV or V)")
    if fs is not None and not fs > 0:
        raise EcgToolError(f"--fs must be positive, got {fs:g}")
    return ReadOptions(channel=parse_channel(channel), fs=fs, column=parse_channel(column),
                       units=units, all_leads=all_leads, second_lead=parse_channel(second_lead))


def sources(inputs: Optional[list[str]], sample: bool, fs: Optional[float] = None):
    """The inputs expanded to sources; warns when ``--fs`` (``fs``) applies to none
    of them (WFDB, EDF and stores state their own rate)."""
    from ecgtool.io.inputs import expand_inputs

    found = expand_inputs(list(inputs or []), samples=sample)
    if not found:
        raise EcgToolError("no input: give records, folders, a store, '-' or --sample")
    warn_unused_fs(found, fs)
    return found


def warn_unused_fs(found, fs: Optional[float]) -> None:
    """Warn when ``--fs`` was given but no source reads it (only CSV, stdin and
    header-less .mat signals do; records, stores and beats tables state their rate)."""
    if fs is not None and not any(s.kind in ("csv", "stdin", "mat") for s in found):
        warn(f"--fs {fs:g} ignored: these inputs state their own sampling rate")


def name_values(items: Optional[list[str]], option: str) -> dict[str, str]:
    """``NAME=VALUE`` option values as a dict (the last one of a name wins)."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise EcgToolError(f"{option} wants NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


DetectorOpt = typer.Option(
    None, "--detector", metavar="NAME=VALUE",
    help="Change a detector setting, e.g. --detector refractory_ms=250 or --detector "
    "split_rule=off or noise_band=off (names: DetectorSettings in ecgtool.signal.detect). "
    "Repeatable. "
    "Beats read from a store stay as they were detected.")


QrsNetOpt = typer.Option(
    None, "--qrs-net", metavar="PATH|none",
    help="QRS onset and offset from these network weights (an .npz from python -m "
    "ecgtool.ml.qrsnet_train), or 'none' for the slope thresholds alone. Default: the "
    "network shipped with ecgtool. Beats read from a store keep their boundaries.")
PNetOpt = typer.Option(
    None, "--p-net", metavar="PATH|none",
    help="P waves with these network weights (an .npz from python -m ecgtool.ml.qrsnet_train "
    "--wave p), or 'none' for the slope rules alone. Default: the network shipped with "
    "ecgtool.")


RhythmSettingOpt = typer.Option(
    None, "--rhythm-setting", metavar="NAME=VALUE",
    help="Change a rhythm rule, e.g. --rhythm-setting pause_s=3 or af_min_beats=40 (names: "
    "RhythmSettings in ecgtool.rhythm). Repeatable.")


def rhythm_settings(items: Optional[list[str]], window: Optional[int] = None):
    """``RhythmSettings`` from ``--rhythm-setting NAME=VALUE`` values (and ``--window``)."""
    from ecgtool.rhythm import RhythmSettings

    given = name_values(items, "--rhythm-setting")
    if window is not None:
        given["window_beats"] = str(window)
    try:
        return RhythmSettings.with_overrides(given)
    except ValueError as exc:
        raise EcgToolError(str(exc)) from None


def rhythm_job(settings, leave_out: tuple = ()) -> dict:
    """The rhythm settings that differ from the defaults, as :func:`job` keeps
    them (``{"rhythm": {...}}``; ``{}`` when none does)."""
    from ecgtool.settings import changed_fields

    changed = changed_fields(settings, leave_out)
    return {"rhythm": changed} if changed else {}


def detector_settings(items: Optional[list[str]], qrs_net: Optional[str] = None,
                      p_net: Optional[str] = None):
    """``DetectorSettings`` from ``--detector NAME=VALUE`` values, ``--qrs-net`` and ``--p-net``."""
    from dataclasses import replace

    from ecgtool.signal.detect import DetectorSettings

    try:
        settings = DetectorSettings.with_overrides(name_values(items, "--detector"))
    except ValueError as exc:
        raise EcgToolError(str(exc)) from None
    nets = {}
    for field, value in (("qrs_net", qrs_net), ("p_net", p_net)):
        if value is not None and value != "default":
            nets[field] = "" if value.lower() == "none" else _network_path(field, value)
    if not nets:
        return settings
    return replace(settings, delineation=replace(settings.delineation, **nets))


def _network_path(field: str, path: str) -> str:
    # Checked here, once, so that a bad file is one error before any work;
    # absolute, as workers may start elsewhere (a Dask worker, another folder).
    from ecgtool.signal import pnet, qrsnet

    if field == "p_net":
        qrsnet.check_weights(path, pnet.INPUT_SHAPE, 4, "P-wave")
    else:
        qrsnet.check_weights(path)
    return str(Path(path).resolve())


def detector_attrs(settings, **more) -> dict:
    """Beats-table attributes naming the detector and the settings changed."""
    attrs = {"detector": "ecgtool", **more}
    changed = settings.changed()
    if changed:
        import json

        attrs["detector_settings"] = json.dumps(changed)
    return attrs


def job(command: str, opts, **options) -> dict:
    """The command and the options that shape its records (``opts``, a
    ``ReadOptions``, and ``options``), kept in an output store: ``--resume``
    continues a store only with the same ones."""
    from dataclasses import asdict

    from ecgtool.io.tables import json_ready

    return json_ready({"command": command, "read": asdict(opts), **options})


def time_range(start: Optional[str], end: Optional[str]) -> tuple[float, Optional[float]]:
    """``--start`` and ``--end`` (seconds or H:MM:SS) as seconds; start 0
    and end None where not given.

    Examples
    --------
    >>> time_range("1:00:00", "5400"), time_range(None, None)
    ((3600.0, 5400.0), (0.0, None))
    """
    from ecgtool.io.records import clock_seconds

    out = []
    for option, text in (("--start", start), ("--end", end)):
        if text is None:
            out.append(None)
            continue
        try:
            value = clock_seconds(text)
        except ValueError:
            value = float("nan")
        if not value >= 0 or value == float("inf"):
            raise EcgToolError(f"{option} {text!r} is no time (seconds, or H:MM:SS)")
        out.append(value)
    first, last = out[0] or 0.0, out[1]
    if last is not None and not last > first:
        raise EcgToolError(f"--end ({end}) must be after --start ({start or 0})")
    return first, last


StartOpt = typer.Option(None, "--start", metavar="TIME", help="Take each recording from this "
                        "time on: seconds or H:MM:SS from its first sample. The stretch is a "
                        "record of its own: times count from its start, its start time of "
                        "day moves with it.")
EndOpt = typer.Option(None, "--end", metavar="TIME", help="... up to this time (default: "
                      "the end).")


def stretch(srcs: list, start: Optional[str], end: Optional[str],
            signal_only: bool = True) -> tuple[list, dict]:
    """``srcs`` cut to ``--start``/``--end``, and those options as a job
    would record them (empty where none was given). With ``signal_only``, a
    beats table, annotation file or stdin is an error: only a recording's
    (or a store's) signal can be cut."""
    from ecgtool.io.inputs import stretched

    if start is None and end is None:
        return srcs, {}
    start_s, end_s = time_range(start, end)
    if signal_only:
        for s in srcs:
            if s.kind in ("stdin", "ann", "beats_csv", "beats_store"):
                raise EcgToolError("--start/--end cut a recording's signal, not a beats table, "
                                   "annotation file or stdin", s.path)
    return stretched(srcs, start_s, end_s), {"start_s": start_s, "end_s": end_s}


def output_kind(out: Optional[str]) -> str:
    """``"stdout"``, ``"store"``, ``"folder"`` (a path ending in ``/`` or an
    existing folder), ``"edf"`` or ``"csv"`` for an ``--out`` value."""
    if out is None or out == "-":
        return "stdout"
    if out.endswith(("/", os.sep)) or Path(out).is_dir():
        return "folder"
    if Path(out).suffix.lower() == ".edf":
        return "edf"
    from ecgtool.io.store import is_store

    return "store" if is_store(out) else "csv"


@contextlib.contextmanager
def text_output(out: Optional[str]) -> Iterator[IO[str]]:
    """stdout for ``-``/None, else a file written atomically."""
    if output_kind(out) == "stdout":
        yield sys.stdout
        sys.stdout.flush()
        return
    from ecgtool.io.store import atomic_path

    with atomic_path(out) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            yield f


def report_outcome(outcome) -> None:
    for w in outcome.warnings:
        warn(f"{outcome.source.name}: {w}")
    if not outcome.ok:
        error(outcome.error)


#: What the table commands (detect, classify, rhythm, convert) write: an HDF5
#: store ("store": :data:`ecgtool.io.store.STORE_SUFFIXES`, looked up when
#: checked, so that start-up does not import the store module) or CSV. A
#: name without a suffix (``/dev/stdout``) is CSV.
TABLE_FORMATS = ("store", ".csv", ".txt")
#: What diagnose writes: JSON lines, or a store.
REPORT_FORMATS = (".jsonl", ".json", ".txt", ".csv", "store")


def check_output_path(out: Optional[str], formats: tuple[str, ...] | None = None) -> None:
    """Fail early (before any work) when the output folder does not exist,
    or when ``out``'s suffix is none of ``formats`` (a file named .parquet
    would otherwise hold CSV; ``"store"`` stands for the store's suffixes)."""
    kind = output_kind(out)
    if kind == "stdout":
        return
    if kind == "folder":
        if formats and "wfdb" not in formats:
            raise EcgToolError("is a folder: this command writes a file "
                               f"({', '.join(f for f in formats if f != 'wfdb')})", out)
        parent = Path(out.rstrip("/" + os.sep) or out).parent
        if not parent.is_dir():
            raise EcgToolError("cannot write: folder does not exist", str(parent))
        return
    if formats and "store" in formats:
        from ecgtool.io.store import STORE_SUFFIXES

        formats = tuple(x for f in formats for x in (STORE_SUFFIXES if f == "store" else (f,)))
    suffix = Path(out).suffix.lower()
    if formats and suffix and suffix not in formats:
        raise EcgToolError(f"cannot write a {suffix} file: this command writes "
                           f"{', '.join(formats)}", out)
    parent = Path(out).parent
    if str(parent) and not parent.is_dir():
        raise EcgToolError("cannot write: folder does not exist", out)


def check_folder(path: Optional[str]) -> None:
    """Fail early when a folder to write into does not exist."""
    if path is not None and not Path(path).is_dir():
        raise EcgToolError("cannot write: folder does not exist", path)


class NothingWritten(Exception):
    """Every input failed (each already reported): end with status 1, no output file."""
