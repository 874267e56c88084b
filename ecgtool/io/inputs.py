"""Turning command-line inputs into records: paths, folders, globs, stores, stdin.

An input may be a WFDB record (``rec100``, ``rec100.hea``, ``data/mitdb/*.hea``),
a folder of them, a CSV file, a header-less MATLAB ``.mat`` (CPSC 2018's, or
one numeric matrix with ``--fs``), an EDF/BDF file, an ISHNE Holter file
(``.ecg``), a GE MUSE, HL7 aECG or Philips resting ECG (``.xml``), a DICOM ECG
(``.dcm``), an ecgtool HDF5 store (every record in it),
``-`` for standard input, ``sample:NAME`` for a bundled record, or a
database-relative name such as ``mitdb/100`` looked up under
``$ECGTOOL_DATA``.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from ecgtool.errors import EcgToolError
from ecgtool.io import store
from ecgtool.io.csvfiles import COMPRESSED_SUFFIXES, read_csv
from ecgtool.io.records import SAMPLE_RECORDS, Record, sample_path
from ecgtool.io.wfdbfiles import read_wfdb

_TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
_EDF_SUFFIXES = (".edf", ".bdf")
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".7z", ".rar")
#: Kinds whose length is in their header, so that a long one is read in blocks
#: (:func:`read_source_block` reads these alone).
BLOCK_KINDS = ("wfdb", "edf", "ishne")
_WFDB_SUFFIXES = (".hea", ".dat", ".mat", ".atr", ".qrs")


def data_dir() -> Path | None:
    """Folder of the PhysioNet databases: ``$ECGTOOL_DATA``, else ``../shared/data``.

    Returns None when neither exists.

    Examples
    --------
    >>> import os
    >>> os.environ["ECGTOOL_DATA"], old = "/no/such/folder", os.environ.get("ECGTOOL_DATA")
    >>> data_dir() is None
    True
    >>> _ = os.environ.pop("ECGTOOL_DATA") if old is None else os.environ.update(ECGTOOL_DATA=old)
    """
    env = os.environ.get("ECGTOOL_DATA")
    if env:
        p = Path(env).expanduser()
        return p if p.is_dir() else None
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        p = base.parent / "shared" / "data"
        if p.is_dir():
            return p
    return None


@dataclass(frozen=True)
class Source:
    """One record to read: its kind, where it is, and its name; with a
    ``stretch``, only that stretch of it (``--start``/``--end``)."""

    kind: str  # "wfdb", "mat", "edf", "ishne", "xml", "dicom", "csv", "store" or "stdin"
    path: str
    name: str
    key: str | None = None  # record name inside a store
    #: (start, end) in seconds from the recording's first sample (end None:
    #: to its end): the stretch is read as a record of its own
    #: (:func:`ecgtool.io.records.excerpt`).
    stretch: tuple[float, float | None] | None = None


@dataclass(frozen=True)
class ReadOptions:
    """How to read a source (see :func:`read_source`)."""

    channel: str | int | None = None
    fs: float | None = None
    column: str | int | None = None
    units: str | None = None  # None: a CSV's units row, else mV
    all_leads: bool = False
    ann: str | None = "atr"
    #: Another lead to find the R peaks on too (``--second-lead``): see
    #: :func:`ecgtool.signal.leads.fuse_r_peaks`.
    second_lead: str | int | None = None


def _has_glob(s: str) -> bool:
    return any(c in s for c in "*?[")


def _wfdb_source(path: Path) -> Source:
    base = path.with_suffix("") if path.suffix.lower() in _WFDB_SUFFIXES else path
    return Source("wfdb", str(base), base.name)


def _ishne(path: Path, named: bool = False) -> bool:
    # An .ecg file may also be a WFDB record's annotation file: in a folder
    # the magic number says which; named, a .ecg without a WFDB header beside
    # it is ISHNE (and its reader says what is wrong with it).
    from ecgtool.io.ishnefiles import ISHNE_SUFFIXES, is_ishne

    if path.suffix.lower() not in ISHNE_SUFFIXES:
        return False
    return is_ishne(path) or (named and not path.with_suffix(".hea").is_file())


def _xml_ecg(path: Path) -> bool:
    # In a folder, an .xml file is a record where it is a MUSE, aECG or Philips document.
    if path.suffix.lower() != ".xml":
        return False
    from ecgtool.io.xmlecg import xml_ecg_kind

    return xml_ecg_kind(path) is not None


def _dicom(path: Path) -> bool:
    from ecgtool.io.dicomfiles import is_dicom

    return is_dicom(path)


def _dicom_ecg(path: Path) -> bool:
    # In a folder (a study's, with its images), the DICOM files that hold ECG.
    from ecgtool.io.dicomfiles import is_dicom_ecg

    return is_dicom_ecg(path)


def _unsuffixed(path: Path) -> bool:
    # DICOM archives name files without a suffix (IM0001) or by their UID
    # (1.2.840.113619.2.55...), whose last part reads as a numeric suffix.
    return not path.suffix or path.suffix[1:].isdecimal()


def _bare_mat(path: Path) -> bool:
    # A .mat with a header beside it is a WFDB record's signal file.
    return path.suffix.lower() == ".mat" and not path.with_suffix(".hea").is_file()


def _segment_names(hea: Path) -> set[str]:
    # The segments (and layout) a multi-segment record's header lists: they
    # are parts of that record, not records of their own.
    try:
        with open(hea, errors="replace") as f:
            lines = [ln.split() for ln in f.read(1 << 16).splitlines()
                     if ln.strip() and not ln.lstrip().startswith("#")]
    except OSError:
        return set()
    if not lines or "/" not in lines[0][0]:
        return set()
    try:
        n = int(lines[0][0].split("/", 1)[1])
    except ValueError:
        return set()
    return {ln[0] for ln in lines[1:n + 1]} - {"~"}


def _drop_segments(sources: list[Source]) -> list[Source]:
    # A folder or glob of a multi-segment record holds its segments'
    # headers too; keep the record and drop its parts.
    parts = set()
    for s in sources:
        if s.kind == "wfdb":
            base = Path(s.path)
            parts |= {str(base.parent / n) for n in _segment_names(base.with_suffix(".hea"))}
    return [s for s in sources if not (s.kind == "wfdb" and s.path in parts)]


def _records_in(folder: Path, pattern: str) -> list[Path]:
    # Record files matching pattern ("*": the folder's own, "**/*": at any depth).
    files = [f for f in folder.glob(pattern) if f.is_file()]
    return sorted([f for f in files if f.suffix == ".hea"]
                  + [f for f in files if f.suffix == ".mat" and _bare_mat(f)]
                  + [f for f in files if f.suffix.lower() in _EDF_SUFFIXES]
                  + [f for f in files if _ishne(f)]
                  + [f for f in files if _xml_ecg(f)]
                  + [f for f in files
                     if (f.suffix.lower() == ".dcm" or _unsuffixed(f)) and _dicom_ecg(f)])


def _one(item: str) -> list[Source]:
    if item == "-":
        return [Source("stdin", "-", "stdin")]
    if item.startswith("sample:"):
        name = item.split(":", 1)[1]
        return [Source("wfdb", str(sample_path(name)), name)]
    p = Path(item)
    if p.is_dir():
        # A folder's own records; where it holds none, those of its
        # subfolders (archives keep a folder per patient or per site).
        found = _records_in(p, "*") or _records_in(p, "**/*")
        if not found:
            raise EcgToolError("folder holds no records (*.hea, *.edf, ISHNE *.ecg, MUSE, "
                               "aECG or Philips *.xml, DICOM *.dcm, or *.mat without a "
                               "header), nor do its subfolders", item)
        return _drop_segments([_one(str(f))[0] for f in found])
    if store.is_store(p):
        f = store.open_store(p)
        try:
            names = store.record_names(f)
        finally:
            f.close()
        if not names:
            raise EcgToolError("store holds no complete records", item)
        return [Source("store", item, n, n) for n in names]
    if p.suffix.lower() in _TEXT_SUFFIXES:
        return [Source("csv", item, p.stem)]
    if p.suffix.lower() in COMPRESSED_SUFFIXES and Path(p.stem).suffix.lower() in _TEXT_SUFFIXES:
        return [Source("csv", item, Path(p.stem).stem)]
    if p.suffix.lower() in _ARCHIVE_SUFFIXES + COMPRESSED_SUFFIXES and p.is_file():
        raise EcgToolError("an archive or a compressed file: ecgtool reads compressed CSV "
                           "(.csv.gz, .csv.bz2, .csv.xz); unpack others first", item)
    if p.suffix.lower() in _EDF_SUFFIXES:
        return [Source("edf", item, p.stem)]
    if _ishne(p, named=True):
        return [Source("ishne", item, p.stem)]
    if p.suffix.lower() == ".xml":
        return [Source("xml", item, p.stem)]
    if p.suffix.lower() == ".dcm":
        return [Source("dicom", item, p.stem)]
    if _unsuffixed(p) and p.is_file() and _dicom(p):
        return [Source("dicom", item, p.name)]
    if _bare_mat(p):
        root = None if p.is_file() or p.is_absolute() else data_dir()
        if root is None or not (root / item).is_file():
            return [Source("mat", item, p.stem)]
        if _bare_mat(root / item):
            return [Source("mat", str(root / item), p.stem)]
    src = _wfdb_source(p)
    if not Path(src.path + ".hea").is_file() and not p.is_absolute():
        root = data_dir()
        if root is not None and (root / (src.path + ".hea")).is_file():
            return [Source("wfdb", str(root / src.path), Path(src.path).name)]
    return [src]


def expand_inputs(inputs: list[str], samples: bool = False) -> list[Source]:
    """Expand inputs into sources, in order, with unique record names.

    Parameters
    ----------
    inputs : list of str
        What the user typed (globs are expanded here too, for shells that
        do not).
    samples : bool
        Add the bundled sample records.

    Examples
    --------
    >>> [s.name for s in expand_inputs([], samples=True)]
    ['119', '208']
    """
    out: list[Source] = []
    items = list(inputs) + ([f"sample:{n}" for n in SAMPLE_RECORDS] if samples else [])
    for item in items:
        if _has_glob(item) and not Path(item).exists():
            matches = sorted(glob.glob(item, recursive=True))  # "**" at any depth
            if not matches:
                raise EcgToolError("no file matches this pattern", item)
            seen, found = set(), []
            for m in matches:
                src = _one(m)
                for s in src:
                    if (s.kind, s.path, s.key) not in seen:
                        seen.add((s.kind, s.path, s.key))
                        found.append(s)
            out.extend(_drop_segments(found))
        else:
            out.extend(_one(item))
    return unique_names(_distinct(out))


def _distinct(sources: list[Source]) -> list[Source]:
    # One file named twice (sample:119 and its path, overlapping globs) is
    # one record: read twice, it came out twice under renamed names.
    seen, out = set(), []
    for s in sources:
        key = (s.kind, os.path.realpath(s.path) if s.path != "-" else id(s), s.key)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


#: Sources that are records inside a file (their names are the file's own).
_INSIDE_FILE = ("store", "beats_store", "beats_csv")


def unique_names(sources: list[Source]) -> list[Source]:
    """``sources`` with each name made unique: two records called "100" from
    two folders become "a_100" and "b_100"; a record inside a store or a
    beats table keeps its name there as ``key`` and is numbered ("100_2").

    Examples
    --------
    >>> srcs = [Source("wfdb", "a/100", "100"), Source("store", "s.h5", "100", "100")]
    >>> [(s.name, s.key) for s in unique_names(srcs)]
    [('a_100', None), ('100', '100')]
    """
    counts: dict[str, int] = {}
    for s in sources:
        counts[s.name] = counts.get(s.name, 0) + 1
    out, used = [], set()
    for s in sources:
        name = s.name
        if counts[name] > 1 and s.kind not in _INSIDE_FILE:
            parent = Path(s.path).parent.name
            name = f"{parent}_{name}" if parent else name
        out.append(replace(s, name=numbered(name, used)))
    return out


def numbered(name: str, used: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``... the first not in ``used``; added to it.

    Examples
    --------
    >>> used = {"100"}
    >>> numbered("100", used), numbered("100", used), numbered("101", used)
    ('100_2', '100_3', '101')
    """
    base, k = name, 2
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


def read_source(src: Source, opts: ReadOptions = ReadOptions()) -> Record:
    """Read one source as a :class:`Record`.

    Examples
    --------
    >>> rec = read_source(expand_inputs(["sample:119"])[0])
    >>> rec.name, rec.lead
    ('119', 'MLII')
    """
    if src.stretch is not None:
        return _read_stretch(src, opts)
    if src.kind == "wfdb":
        return read_wfdb(src.path, channel=opts.channel, all_leads=opts.all_leads,
                         ann=opts.ann, name=src.name)
    if src.kind == "mat":
        from ecgtool.io.matfiles import read_mat

        return read_mat(src.path, fs=opts.fs, channel=opts.channel, all_leads=opts.all_leads,
                        units=opts.units or "mV", name=src.name)
    if src.kind == "edf":
        from ecgtool.io.edffiles import read_edf

        return read_edf(src.path, channel=opts.channel, all_leads=opts.all_leads, name=src.name,
                        ann=bool(opts.ann))
    if src.kind == "ishne":
        from ecgtool.io.ishnefiles import read_ishne

        return read_ishne(src.path, channel=opts.channel, all_leads=opts.all_leads,
                          name=src.name, ann=bool(opts.ann))
    if src.kind == "xml":
        from ecgtool.io.xmlecg import read_xml_ecg

        return read_xml_ecg(src.path, channel=opts.channel, all_leads=opts.all_leads,
                            name=src.name)
    if src.kind == "dicom":
        from ecgtool.io.dicomfiles import read_dicom

        return read_dicom(src.path, channel=opts.channel, all_leads=opts.all_leads,
                          name=src.name)
    if src.kind in ("csv", "stdin"):
        return read_csv(src.path, fs=opts.fs, column=opts.column, units=opts.units,
                        name=src.name)
    if src.kind == "store":
        f = store.open_store(src.path)
        try:
            rec = store.read_record(f, src.key or src.name, src.path)
        finally:
            f.close()
        rec.name = src.name
        if opts.channel is not None:
            from ecgtool.io.records import choose_channel

            rec.channel = choose_channel(rec.leads, opts.channel, src.path)
        return rec
    raise ValueError(f"unknown source kind {src.kind!r}")


def stretched(srcs: list[Source], start_s: float = 0.0,
              end_s: float | None = None) -> list[Source]:
    """``srcs``, each cut to the stretch from ``start_s`` to ``end_s``
    seconds (None: to the end); as they were where no stretch is asked for.

    Examples
    --------
    >>> [s] = stretched(expand_inputs(["sample:208"]), 300.0, 310.0)
    >>> rec = read_source(s)
    >>> rec.n_samples, rec.comments[-1]
    (3600, 'excerpt of 208: 300-310 s')
    """
    if start_s == 0.0 and end_s is None:
        return list(srcs)
    return [replace(s, stretch=(float(start_s), end_s)) for s in srcs]


def _whole(src: Source) -> Source:
    return replace(src, stretch=None)


def _span(src: Source, channel: str | int | None = None) -> tuple[int, int] | None:
    # The first and end samples of a stretched WFDB, EDF or ISHNE source in
    # the whole recording (of its lead channel), from its header; None where
    # the header gives no length.
    size = source_length(_whole(src), channel)
    return None if size is None else _stretch_samples(src, *size)


def _stretch_samples(src: Source, n: int, fs: float) -> tuple[int, int]:
    # The stretch's first and end samples in a recording of n samples.
    start_s, end_s = src.stretch
    if start_s * fs >= n:
        raise EcgToolError(f"--start {start_s:g} s is past the end of the recording "
                           f"({n / fs:.1f} s)", src.path)
    # At least one sample, whatever the rounding of times closer than one.
    a = min(int(round(start_s * fs)), n - 1)
    b = n if end_s is None else min(n, max(a + 1, int(round(end_s * fs))))
    return a, b


def _read_stretch(src: Source, opts: ReadOptions) -> Record:
    # A recording whose header gives its length: the stretch alone is read.
    from ecgtool.io.records import excerpt

    size = source_length(src, opts.channel)
    if size is None:
        rec = read_source(_whole(src), opts)
        return excerpt(rec, *_stretch_samples(src, rec.n_samples, rec.fs))
    return read_source_head(src, opts, size[0])


def read_source_head(src: Source, opts: ReadOptions, stop: int = 1) -> Record:
    """The first ``stop`` samples of a WFDB, EDF or ISHNE source (of its
    stretch), with the reference annotations and checksum of the whole (the
    annotations of the stretch): how a recording too long to hold whole
    begins."""
    if src.stretch is not None:
        from ecgtool.io.records import excerpt

        whole = _whole(src)
        a, b = _span(src, opts.channel)
        head = read_source_block(whole, opts, a, min(b, a + stop))
        head.annotations = read_source_annotations(whole, opts)
        head.sha256 = source_checksum(whole)
        return excerpt(head, a, b, signals=head.signals)
    head = read_source_block(src, opts, 0, stop)
    head.annotations = read_source_annotations(src, opts)
    head.sha256 = source_checksum(src)
    return head


def read_source_annotations(src: Source, opts: ReadOptions = ReadOptions()):
    """The reference annotations of a source (``opts.ann`` of a WFDB record,
    EDF+ annotations, the ISHNE labels beside it, a store's reference); None
    where it has none, or ``opts.ann`` is None. WFDB, EDF and ISHNE
    recordings are not read for them, only their annotation files.

    Examples
    --------
    >>> len(read_source_annotations(expand_inputs(["sample:119"])[0])) > 2000
    True
    """
    if not opts.ann:
        return None
    if src.stretch is not None:
        from ecgtool.io.records import cut_annotations

        span = _span(src, opts.channel)
        if span is None:
            return read_source(src, opts).annotations
        return cut_annotations(read_source_annotations(_whole(src), opts), *span)
    if src.kind == "wfdb":
        from ecgtool.io.wfdbfiles import read_lead_annotations

        return read_lead_annotations(src.path, opts.ann, opts.channel)
    if src.kind == "edf":
        from ecgtool.io.edffiles import read_edf_annotations

        return read_edf_annotations(src.path, opts.channel)
    if src.kind == "ishne":
        from ecgtool.io.ishnefiles import annotations_beside

        return annotations_beside(src.path)
    return read_source(src, opts).annotations


def read_record(path: str | os.PathLike, channel: str | int | None = None,
                all_leads: bool = False, fs: float | None = None,
                column: str | int | None = None, units: str | None = None) -> Record:
    """Read one record from any input ``ecgtool convert`` takes (a WFDB
    record or ``.hea``, an EDF/BDF, ISHNE, ``.mat`` or CSV file, a store
    holding one record, ``sample:119``, ``mitdb/100`` under ``$ECGTOOL_DATA``),
    with the options the commands take.

    Raises :class:`EcgToolError` when ``path`` names no record or several
    (a folder, a glob, a store of many: use :func:`expand_inputs` and
    :func:`read_source` for those).

    Examples
    --------
    >>> rec = read_record("sample:208", channel="V1")
    >>> rec.name, rec.lead, rec.fs
    ('208', 'V1', 360.0)
    """
    srcs = expand_inputs([str(path)])
    if len(srcs) != 1:
        raise EcgToolError(f"names {len(srcs)} records, not one: read them with "
                           "expand_inputs and read_source", str(path))
    return read_source(srcs[0], ReadOptions(channel=channel, fs=fs, column=column, units=units,
                                            all_leads=all_leads))


def source_length(src: Source, channel: str | int | None = None) -> tuple[int, float] | None:
    """``(samples, fs)`` of a WFDB, EDF or ISHNE source's lead ``channel``
    (default: the lead the readers choose) from its header alone; None for
    other kinds or an unreadable header (reading it in full then says why).
    An EDF file's signals may each have a rate of their own."""
    if src.kind not in BLOCK_KINDS:
        return None
    if src.stretch is not None:
        size = source_length(_whole(src), channel)
        if size is None:
            return None
        a, b = _stretch_samples(src, *size)
        return b - a, size[1]
    header = src.path + ".hea" if src.kind == "wfdb" else src.path
    try:
        stamp = os.stat(header).st_mtime_ns
    except OSError:
        return None  # no header to read: reading the record in full says so
    # One analysis asks at each step (read, detect, classify); a header is
    # parsed once while the file stays as it was.
    return _header_length(src.kind, src.path, stamp, channel if src.kind != "ishne" else None)


@lru_cache(maxsize=64)
def _header_length(kind: str, path: str, stamp: int,
                   channel: str | int | None = None) -> tuple[int, float] | None:
    try:
        if kind == "wfdb":
            from ecgtool.io.wfdbfiles import header_length, lead_frame_samples, read_header

            h = read_header(path)
            if not h.fs:
                return None
            # A lead of several samples a frame counts its own samples.
            spf = lead_frame_samples(h, channel, path)
            return header_length(h, Path(path)) * spf, float(h.fs) * spf
        if kind == "ishne":
            from ecgtool.io.ishnefiles import ishne_length

            return ishne_length(path)
        from ecgtool.io.edffiles import edf_length

        return edf_length(path, channel)
    except Exception:
        return None


def source_checksum(src: Source) -> str:
    """sha256 of a WFDB, EDF or ISHNE source's files, read in chunks."""
    if src.kind == "wfdb":
        return read_wfdb(src.path, ann=None, sampto=1).sha256
    from ecgtool.io.records import sha256_files

    return sha256_files([Path(src.path)])


def read_source_block(src: Source, opts: ReadOptions, start: int, stop: int) -> Record:
    """Samples ``start:stop`` of the chosen lead (every lead with
    ``opts.all_leads``) of a WFDB, EDF or ISHNE source, for recordings too
    long to hold whole; no annotations, no checksum."""
    if src.stretch is not None:
        from ecgtool.io.records import clock_at

        first = (_span(src, opts.channel) or (0, 0))[0]
        block = read_source_block(_whole(src), opts, first + start, first + stop)
        block.start_clock = clock_at(block.start_clock, first / block.fs)  # the stretch's
        return block
    if src.kind == "wfdb":
        return read_wfdb(src.path, channel=opts.channel, all_leads=opts.all_leads, ann=None,
                         name=src.name, sampfrom=start, sampto=stop, checksum=False)
    if src.kind == "edf":
        from ecgtool.io.edffiles import read_edf

        return read_edf(src.path, channel=opts.channel, all_leads=opts.all_leads,
                        name=src.name, block=(start, stop))
    if src.kind == "ishne":
        from ecgtool.io.ishnefiles import read_ishne

        return read_ishne(src.path, channel=opts.channel, all_leads=opts.all_leads,
                          name=src.name, block=(start, stop))
    raise ValueError(f"no block reads for {src.kind!r} sources")
