"""Robustness run: fuzz the record and annotation readers and the detector with generated input.

Hypothesis generates bytes for ``.hea`` headers (alone, around a valid record
line, and in the headers of a multi-segment record), CSV files (and a device
export's metadata), header-less ``.mat`` files, EDF files, ISHNE Holter files
and their annotation files, GE MUSE, HL7 aECG and Philips XML and DICOM ECGs
(the last two where sierraecg and pydicom are installed), ecgtool stores,
WFDB annotation files (alone, after valid beats, and naming their time
resolution), beats
tables (the pipelines' line format), and random signals for the detector; every outcome must be a result
or an :class:`ecgtool.errors.EcgToolError` (a one-line message), never
another exception. The count is bounded (``--examples``).
Also: how many beat labels a NaN run changes around it (:func:`gap_labels`),
and how the record's edge changes them (:func:`edge_labels`).
Prints what failed, writes benchmarks/results/robustness.json and the
"robustness" section of RESULTS.md.

Usage: python benchmarks/robustness.py [--examples 2000]
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import traceback
import warnings
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _common import command_line, machine, md_table, update_results_md, write_json
from ecgtool.errors import EcgToolError
from ecgtool.io.edffiles import read_edf
from ecgtool.io.ishnefiles import read_ishne
from ecgtool.io.matfiles import read_mat
from ecgtool.io.csvfiles import read_csv
from ecgtool.io.wfdbfiles import read_annotations, read_wfdb
from ecgtool.signal.detect import detect_beats

FAILURES: dict[str, list[str]] = {}
COUNTS: dict[str, dict[str, int]] = {}


def record(target, outcome, detail=""):
    c = COUNTS.setdefault(target, {"ok": 0, "clean_error": 0, "crash": 0, "process_died": 0})
    c[outcome] += 1
    if outcome in ("crash", "process_died") and len(FAILURES.setdefault(target, [])) < 5:
        FAILURES[target].append(detail)


def check(target, fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
        record(target, "ok")
    except EcgToolError as exc:
        assert "\n" not in str(exc)
        record(target, "clean_error")
    except Exception:  # noqa: BLE001 - the point is to find these
        record(target, "crash", traceback.format_exc(limit=3))


def check_in_child(target, fn, timeout_s: float = 20.0):
    """:func:`check` in a forked process, for readers whose C libraries can
    crash or loop on damaged input (HDF5): the process's death is counted,
    not suffered."""
    import os
    import signal
    import time

    pid = os.fork()
    if pid == 0:  # child: 0 read fine, 1 clean error, 2 other exception
        code = 2
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn()
            code = 0
        except EcgToolError as exc:
            code = 1 if "\n" not in str(exc) else 2
        except BaseException:  # noqa: BLE001
            traceback.print_exc(limit=3)
        os._exit(code)
    end = time.monotonic() + timeout_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > end:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            record(target, "process_died", f"no answer in {timeout_s:g} s (killed)")
            return
        time.sleep(0.002)
    if os.WIFSIGNALED(status):
        record(target, "process_died", f"killed by signal {os.WTERMSIG(status)}")
    else:
        record(target, ("ok", "clean_error", "crash")[min(os.WEXITSTATUS(status), 2)],
               "exception in the child (traceback on stderr)")


def patched(good: bytes, at: int, patch: bytes) -> bytes:
    """``good`` with ``patch`` written over it from byte ``at``."""
    return good[:at] + patch + good[at + len(patch):]


def gap_labels(names=("119", "208"), minutes=5.0, gap_s=3.0, starts_s=range(20, 280, 13)):
    # How far a NaN run reaches into the beat labels: each bundled record's
    # first minutes analysed with one gap of gap_s at each start, against the
    # same minutes without it; the beats both keep are compared.
    from ecgtool.io.records import read_sample
    from ecgtool.analysis import analyse_signal

    rows = []
    for name in names:
        rec = read_sample(name)
        x = rec.signal[: int(minutes * 60 * rec.fs)]
        base = analyse_signal(x, rec.fs)
        kept = changed = first_after = to_q = 0
        for start in starts_s:
            y = x.copy()
            a, b = int(start * rec.fs), int((start + gap_s) * rec.fs)
            y[a:b] = np.nan
            got = analyse_signal(y, rec.fs)
            common, i0, i1 = np.intersect1d(base.beats.r_peak, got.beats.r_peak,
                                            return_indices=True)
            differ = base.labels[i0] != got.labels[i1]
            kept, changed = kept + common.size, changed + int(differ.sum())
            k = int(np.searchsorted(common, b))
            first_after += int(k < common.size and differ[k])
            to_q += int(np.sum(differ & (got.labels[i1] == "Q")))
        rows.append([name, len(starts_s), kept, changed, first_after, to_q])
    return rows


EDGE_CUTS_MS = (0, 10, 20, 30, 40, 60, 100, 300)


def edge_labels(per_record: int = 20, seed: int = 0):
    # How the record's edge changes a beat's label: DS1 beats (every class
    # but N, and as many N, up to per_record each) labelled in 10 s of their
    # record on each side, then with the record cut d ms before (start) or
    # after (end) the R peak. Reference beat positions, so that only the
    # edge differs. None without the MIT-BIH DS1 records.
    from ecgtool.evaluate import BEAT_SYMBOLS
    from ecgtool.io.inputs import data_dir
    from ecgtool.io.wfdbfiles import read_wfdb
    from ecgtool.ml.classify import classify_beats
    from ecgtool.ml.main import DS1
    from ecgtool.ml.model_io import load_model
    from ecgtool.beats.labels import aami_labels
    from ecgtool.beats.table import AAMI_CLASSES

    root = data_dir()
    mit = None if root is None else root / "mitdb"
    names = [n for n in DS1 if mit is not None and (mit / f"{n}.atr").is_file()]
    if not names:
        return None
    clf, rng = load_model(None), np.random.default_rng(seed)
    ventricular = ("V", "F")
    counts = {(side, d): np.zeros(6, np.int64) for side in ("start", "end") for d in EDGE_CUTS_MS}
    for name in names:
        rec = read_wfdb(mit / name)
        x, fs, a = rec.signal, rec.fs, rec.annotations
        keep = np.isin(a.symbol, list(BEAT_SYMBOLS))
        s, cls = a.sample[keep], aami_labels(a.symbol[keep])
        w = int(10 * fs)
        ok = np.flatnonzero((s > w + fs) & (s < x.size - w - fs))
        pick = np.concatenate([rng.permutation(ok[cls[ok] != "N"])[:per_record],
                               rng.permutation(ok[cls[ok] == "N"])[:per_record]])
        for i in pick:
            r = s[i]
            for side in ("start", "end"):
                for d in EDGE_CUTS_MS:
                    n = int(round(d * fs / 1000))
                    lo, hi = (r - n, r + w) if side == "start" else (r - w, r + n + 1)
                    inside = (s >= lo) & (s < hi)
                    lab = classify_beats(x[lo:hi], fs, s[inside] - lo, clf)
                    k = 0 if side == "start" else -1
                    network = AAMI_CLASSES[int(lab.proba[k].argmax())]
                    other = cls[i] not in ventricular
                    counts[(side, d)] += [1, cls[i] == "V", other and network in ventricular,
                                          other and lab.aami[k] in ventricular,
                                          lab.aami[k] == "Q",
                                          cls[i] == "V" and lab.aami[k] == "V"]
    return [[side, d, *c.tolist()] for (side, d), c in counts.items()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=2000)
    args = ap.parse_args()
    cfg = settings(max_examples=args.examples, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))
    tmp = Path(tempfile.mkdtemp(prefix="ecgtool-fuzz-"))
    valid = "r 2 360 1000\nr.dat 212 200 11 1024 0 0 0 MLII\nr.dat 212 200 11 1024 0 0 0 V1\n"
    (tmp / "r.dat").write_bytes(bytes(3000))

    @cfg
    @given(st.binary(max_size=600))
    def header_bytes(blob):
        (tmp / "r.hea").write_bytes(blob)
        check("header (random bytes)", lambda: read_wfdb(tmp / "r"))

    @cfg
    @given(st.text(max_size=200), st.integers(0, len(valid)))
    def header_mutated(text, at):
        (tmp / "r.hea").write_text(valid[:at] + text + valid[at:])
        check("header (valid one, text inserted)", lambda: read_wfdb(tmp / "r"))

    # A multi-segment record: a layout, a segment with both leads, a null
    # segment, a segment with one lead. Text goes into its master header or
    # into a segment's header.
    segment_heads = {
        "s_layout": "s_layout 2 360 0\n~ 0 200/mV 12 0 0 0 0 MLII\n~ 0 200/mV 12 0 0 0 0 V1\n",
        "s_1": "s_1 2 360 500\ns_1.dat 212 200 11 1024 0 0 0 MLII\n"
               "s_1.dat 212 200 11 1024 0 0 0 V1\n",
        "s_2": "s_2 1 360 1000\ns_2.dat 16 200 16 0 0 0 0 V1\n"}
    master = "s/4 2 360 1700\ns_layout 0\ns_1 500\n~ 200\ns_2 1000\n"
    (tmp / "s_1.dat").write_bytes(bytes(1500))
    (tmp / "s_2.dat").write_bytes(bytes(2000))

    def write_multi(head=master, segment=None, seg_text=None):
        (tmp / "s.hea").write_text(head)
        for name, text in segment_heads.items():
            (tmp / f"{name}.hea").write_text(seg_text if name == segment else text)

    write_multi()
    assert read_wfdb(tmp / "s", ann=None).n_samples == 1700

    @cfg
    @given(st.text(max_size=200), st.integers(0, len(master)),
           st.sampled_from([None, *segment_heads]))
    def multi_segment_mutated(text, at, segment):
        if segment is None:
            write_multi(master[:at] + text + master[at:])
        else:
            good = segment_heads[segment]
            write_multi(segment=segment, seg_text=good[:at] + text + good[at:])
        check("multi-segment record (text inserted in a header)", lambda: read_wfdb(tmp / "s"))

    @cfg
    @given(st.binary(max_size=800), st.sampled_from([None, 250.0]))
    def csv_bytes(blob, fs):
        (tmp / "x.csv").write_bytes(blob)
        check("CSV (random bytes)", lambda: read_csv(tmp / "x.csv", fs=fs))

    @cfg
    @given(st.binary(max_size=800), st.sampled_from([None, 250.0]))
    def mat_bytes(blob, fs):
        (tmp / "m.mat").write_bytes(blob)
        check("header-less .mat (random bytes)", lambda: read_mat(tmp / "m.mat", fs=fs))

    import io

    import scipy.io

    buf = io.BytesIO()
    scipy.io.savemat(buf, {"ECG": {"sex": "Male", "age": 52, "data": np.ones((12, 50))}})
    good_mat = buf.getvalue()

    @cfg
    @given(st.integers(0, len(good_mat) - 1), st.binary(min_size=1, max_size=16))
    def mat_mutated(at, patch):
        (tmp / "m.mat").write_bytes(patched(good_mat, at, patch))
        check("CPSC 2018 .mat (bytes overwritten)", lambda: read_mat(tmp / "m.mat"))

    import h5py

    with h5py.File(tmp / "v73.mat", "w", userblock_size=512) as h:
        h.create_dataset("val", data=np.ones((300, 2)))
        h.create_dataset("fs", data=np.array([[250.0]]))
    with open(tmp / "v73.mat", "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file".ljust(116) + bytes(8) + b"\x00\x02IM")
    good_v73 = (tmp / "v73.mat").read_bytes()

    @cfg
    @given(st.integers(0, len(good_v73) - 1), st.binary(min_size=1, max_size=16))
    def mat73_mutated(at, patch):
        (tmp / "m.mat").write_bytes(patched(good_v73, at, patch))
        check("MATLAB v7.3 .mat (bytes overwritten)", lambda: read_mat(tmp / "m.mat"))

    import edfio

    # EDF+ with annotations, so that damaged annotation records are read too.
    edfio.Edf([edfio.EdfSignal(np.sin(np.arange(2500) / 9), 250, label="ECG II",
                               physical_dimension="mV"),
               edfio.EdfSignal(np.zeros(10), 1, label="Temp")],
              annotations=[edfio.EdfAnnotation(t, None, s) for t, s in
                           [(0.5, "N"), (1.3, "V"), (2.0, "(AFIB"), (4.2, "note")]]
              ).write(tmp / "good.edf")
    good_edf = (tmp / "good.edf").read_bytes()

    @cfg
    @given(st.integers(0, len(good_edf) - 1), st.binary(min_size=1, max_size=16))
    def edf_mutated(at, patch):
        (tmp / "e.edf").write_bytes(patched(good_edf, at, patch))
        check("EDF (bytes overwritten)", lambda: read_edf(tmp / "e.edf"))

    @cfg
    @given(st.integers(769, len(good_edf) - 1))
    def edf_cut(at):
        # A copy that stopped early: an error, never a shorter recording.
        (tmp / "e.edf").write_bytes(good_edf[:at])

        def read_whole():
            rec = read_edf(tmp / "e.edf")
            assert rec.n_samples == 2500, f"read {rec.n_samples} of 2500 samples"

        check("EDF (cut short)", read_whole)

    # The same recording made discontinuous (EDF+D): data records 5-9 stamped
    # 3 s later, so that the data-record onsets are parsed and the gap laid out.
    gapped = bytearray(good_edf)
    ns, header = int(gapped[252:256]), int(gapped[184:192])
    spr = [int(gapped[256 + ns * 216 + 8 * i:][:8]) for i in range(ns)]
    record, keeper = 2 * sum(spr), 2 * sum(spr[:-1])  # the annotations are the last signal
    for k in range(5, 10):  # these data records hold only their time stamp
        at = header + k * record + keeper
        assert bytes(gapped[at:at + 5]) == f"+{k}\x14\x14\x00".encode()
        gapped[at:at + 2 * spr[-1]] = f"+{k + 3}\x14\x14\x00".encode().ljust(2 * spr[-1], b"\x00")
    gapped[192:236] = b"EDF+D".ljust(44)
    good_edfd = bytes(gapped)
    (tmp / "d.edf").write_bytes(good_edfd)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the gap is announced; here it is expected
        assert read_edf(tmp / "d.edf").n_samples == 250 * 13

    @cfg
    @given(st.integers(0, len(good_edfd) - 1), st.binary(min_size=1, max_size=16))
    def edfd_mutated(at, patch):
        (tmp / "e.edf").write_bytes(patched(good_edfd, at, patch))
        check("EDF+D (bytes overwritten)", lambda: read_edf(tmp / "e.edf"))

    @cfg
    @given(st.integers(0, 1024), st.binary(max_size=64))
    def edf_header(at, patch):
        # Most of the damage that matters is in the 768-byte header.
        (tmp / "e.edf").write_bytes(patched(good_edf, min(at, 767), patch))
        check("EDF (header bytes changed)", lambda: read_edf(tmp / "e.edf"))

    from ecgtool.io.ishnefiles import write_ishne
    from ecgtool.io.records import read_sample, sample_path

    two_leads = read_wfdb(sample_path("119"), all_leads=True, sampto=3600, ann=None)
    write_ishne(tmp / "good.ecg", two_leads.signals, two_leads.fs, two_leads.leads)
    good_ecg = (tmp / "good.ecg").read_bytes()

    def read_ishne_file():
        rec = read_ishne(tmp / "i.ecg", all_leads=True)
        detect_beats(rec.signal, rec.fs)

    @cfg
    @given(st.integers(0, len(good_ecg) - 1), st.binary(min_size=1, max_size=16))
    def ishne_mutated(at, patch):
        (tmp / "i.ecg").write_bytes(patched(good_ecg, at, patch))
        check("ISHNE (bytes overwritten)", read_ishne_file)

    @cfg
    @given(st.integers(0, 600), st.binary(max_size=64), st.booleans())
    def ishne_header(at, patch, cut):
        # The 522-byte header, and files cut anywhere in it or the samples.
        blob = patched(good_ecg, min(at, 521), patch)
        (tmp / "i.ecg").write_bytes(blob[:at * 8] if cut else blob)
        check("ISHNE (header bytes changed, or cut)", read_ishne_file)

    from ecgtool.io.ishnefiles import read_ishne_annotations, write_ishne_annotations

    write_ishne_annotations(tmp / "good.ann", np.arange(100, 3600, 300), "NVSPX" * 2 + "NC",
                            two_leads.fs)
    good_ann = (tmp / "good.ann").read_bytes()

    @cfg
    @given(st.integers(0, len(good_ann) + 8), st.binary(max_size=32), st.booleans())
    def ishne_annotations(at, patch, cut):
        # Header, labels and intervals overwritten; files cut anywhere.
        blob = patched(good_ann, min(at, len(good_ann) - 1), patch)
        (tmp / "i.ann").write_bytes(blob[:at] if cut else blob)
        check("ISHNE annotation file (bytes changed, or cut)",
              lambda: read_ishne_annotations(tmp / "i.ann", two_leads.fs))

    from ecgtool.io.inputs import expand_inputs, read_source
    from ecgtool.io.storewriter import StoreWriter
    from ecgtool.signal.detect import detect_beats as _detect

    rec = read_sample("119")
    rec.signals = rec.signals[:3600]
    rec.annotations = None
    with StoreWriter(tmp / "good.h5") as w:
        w.finish(w.begin("119", rec, _detect(rec.signal, rec.fs)))
    good_h5 = (tmp / "good.h5").read_bytes()

    def read_store():
        for src in expand_inputs([str(tmp / "s.h5")]):
            read_source(src)

    @cfg
    @given(st.integers(0, len(good_h5) - 1), st.binary(min_size=1, max_size=16))
    def store_mutated(at, patch):
        (tmp / "s.h5").write_bytes(patched(good_h5, at, patch))
        check_in_child("ecgtool store (bytes overwritten)", read_store)

    # Resting 12-lead ECGs: MUSE and aECG as ecgtool writes them, a real
    # Philips file (the tests' fixture) and pydicom's real DICOM ECG where
    # their libraries are installed.
    from ecgtool.io.aecgfiles import write_aecg
    from ecgtool.io.musefiles import write_muse
    from ecgtool.io.xmlecg import read_xml_ecg

    eight = np.c_[two_leads.signals, two_leads.signals, two_leads.signals, two_leads.signals]
    write_muse(tmp / "good_muse.xml", eight[:1000], two_leads.fs,
               ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"])
    write_aecg(tmp / "good_aecg.xml", eight[:1000], two_leads.fs,
               ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"])
    xml_files = {"GE MUSE XML": (tmp / "good_muse.xml").read_bytes(),
                 "HL7 aECG XML": (tmp / "good_aecg.xml").read_bytes()}
    philips = Path(__file__).resolve().parents[1] / "tests" / "data" / "philips" / "129DYPRG.xml"
    if philips.is_file() and importlib.util.find_spec("sierraecg") is not None:
        xml_files["Philips XML"] = philips.read_bytes()

    def xml_target(kind, good):
        @cfg
        @given(st.integers(0, len(good) - 1), st.binary(min_size=1, max_size=16),
               st.booleans())
        def xml_mutated(at, patch, cut):
            (tmp / "x.xml").write_bytes(good[:at] if cut else patched(good, at, patch))
            check(f"{kind} (bytes overwritten, or cut)", lambda: read_xml_ecg(tmp / "x.xml"))
        return xml_mutated

    xml_targets = [xml_target(k, g) for k, g in xml_files.items()]
    try:
        from pydicom.data import get_testdata_file

        from ecgtool.io.dicomfiles import read_dicom

        good_dcm = Path(get_testdata_file("waveform_ecg.dcm")).read_bytes()

        @cfg
        @given(st.integers(0, len(good_dcm) - 1), st.binary(min_size=1, max_size=16),
               st.booleans())
        def dicom_mutated(at, patch, cut):
            (tmp / "d.dcm").write_bytes(good_dcm[:at] if cut else patched(good_dcm, at, patch))
            check("DICOM ECG (bytes overwritten, or cut)", lambda: read_dicom(tmp / "d.dcm"))

        xml_targets.append(dicom_mutated)
    except ImportError:
        pass

    # A device export: a block of Key,value lines that names the rate
    # (Apple Watch), then the samples.
    device = ("Name,x\nSample Rate,512 hertz\nLead,Lead I\nUnit,µV\n\n"
              + "".join(f"{v:.3f}\n" for v in two_leads.signal[:600] * 1e3))

    @cfg
    @given(st.text(max_size=80), st.integers(0, 120))
    def device_csv(text, at):
        (tmp / "w.csv").write_text(device[:at] + text + device[at:], encoding="utf-8")
        check("device CSV (text inserted in its metadata)", lambda: read_csv(tmp / "w.csv"))

    beats = np.array([(1 << 10) | 100] * 4, "<u2").tobytes()

    @cfg
    @given(st.binary(max_size=800), st.booleans())
    def annotation_bytes(blob, after_beats):
        (tmp / "a.atr").write_bytes((beats if after_beats else b"") + blob)
        check("annotation file (random bytes)", lambda: read_annotations(tmp / "a", "atr"))

    # A file that names its time resolution (wrann's, ecgtool's own), beside
    # a header, so that its ticks are turned into the record's samples.
    import wfdb

    (tmp / "b.hea").write_text("b 1 180 1000\nb.dat 16 200 16 0 0 0 0 II\n")
    wfdb.wrann("b", "atr", np.arange(10, 900, 97), ["N", "V"] * 4 + ["N", "+"],
               fs=360, aux_note=[""] * 9 + ["(AFIB"], write_dir=str(tmp))
    good_res = (tmp / "b.atr").read_bytes()

    @cfg
    @given(st.integers(0, len(good_res) - 1), st.binary(min_size=1, max_size=8))
    def annotation_resolution(at, patch):
        (tmp / "b.atr").write_bytes(patched(good_res, at, patch))
        check("annotation file naming its time resolution (bytes overwritten)",
              lambda: read_annotations(tmp / "b", "atr"))

    # A classified beats table (the pipelines' line format), as rhythm and
    # diagnose read it: beats, their rate from r_peak and time_s, episodes, intervals.
    from ecgtool.intervals import conduction_intervals
    from ecgtool.io.beatfiles import read_beats_table
    from ecgtool.rhythm import find_rhythms

    table = ("record,r_peak,time_s,qrs_onset,qrs_offset,p_onset,t_offset,aami\n"
             + "".join(f"119,{r},{r / 360:.4f},{r - 20},{r + 15},{r - 70},{r + 130},N\n"
                       for r in range(300, 30000, 290)))

    def analyse_table(text):
        for bt in read_beats_table(text, "t.csv"):
            find_rhythms(bt.times_s, bt.labels, bt.proba, None,
                         pr_ms=bt.beats.pr_ms if bt.beats is not None else None)
            if bt.beats is not None:
                conduction_intervals(bt.beats, bt.labels)

    @cfg
    @given(st.text(max_size=200), st.integers(0, len(table)))
    def beats_table_mutated(text, at):
        check("beats table (valid one, text inserted)",
              lambda: analyse_table(table[:at] + text + table[at:]))

    @cfg
    @given(st.lists(st.tuples(st.integers(-10, 10 ** 7), st.floats(allow_nan=True,
                                                                     allow_infinity=True)),
                    max_size=60))
    def beats_table_values(rows):
        text = "record,r_peak,time_s,p_onset,qrs_onset\n" + "".join(
            f"x,{r},{t},{r - 50},{r - 10}\n" for r, t in rows)
        check("beats table (random positions and times)", lambda: analyse_table(text))

    @cfg
    @given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                              st.just(0.0)), max_size=3000),
           st.sampled_from([100.0, 257.0, 360.0, 1000.0]))
    def detector(values, fs):
        x = np.asarray(values, dtype=np.float64)
        check("detector (random samples)", lambda: detect_beats(x, fs))

    for fn in (header_bytes, header_mutated, multi_segment_mutated, csv_bytes, mat_bytes,
               mat_mutated, mat73_mutated, edf_mutated, edf_cut, edfd_mutated, edf_header,
               ishne_mutated, ishne_header, ishne_annotations,
               *xml_targets, device_csv, store_mutated, annotation_bytes,
               annotation_resolution, beats_table_mutated, beats_table_values, detector):
        fn()
    rows = [[t, c["ok"], c["clean_error"], c["crash"], c["process_died"]]
            for t, c in COUNTS.items()]
    table = md_table(["target", "read fine", "clean one-line error", "other exception",
                      "process crashed or hung"], rows)
    print(table)
    gaps = gap_labels()
    gap_table = md_table(["record (first 5 min)", "3-s NaN runs, one at a time", "beats kept",
                          "labels changed", "of them the first beat after the run",
                          "of them Q (R peak at the run's edge)"], gaps)
    print(gap_table)
    edges = edge_labels()
    edge_table = "(no MIT-BIH DS1 records in $ECGTOOL_DATA: not measured)" if edges is None else \
        md_table(["record cut", "ms from the R peak", "beats", "of them V",
                  "others the network calls V or F", "others labelled V or F",
                  "labelled Q", "V beats labelled V"], edges)
    print(edge_table)
    for t, f in FAILURES.items():
        print(f"\n{t}:\n" + "\n---\n".join(f))
    payload = {"command": command_line(), "machine": machine(), "counts": COUNTS,
               "failures": FAILURES,
               "gap_labels": [dict(zip(("record", "gaps", "beats_kept", "labels_changed",
                                        "first_after_changed", "changed_to_q"), r))
                              for r in gaps],
               "edge_labels": None if edges is None else [
                   dict(zip(("cut", "ms", "beats", "v_beats", "network_false_ventricular",
                             "false_ventricular", "q", "v_kept"), r)) for r in edges]}
    write_json("robustness", payload)
    mi = payload["machine"]
    crashed = sum(c["crash"] for c in COUNTS.values())
    died = sum(c["process_died"] for c in COUNTS.values())
    note = ("No input raised anything but the one-line error." if not crashed else
            "Exceptions other than the one-line error were found; see the JSON.")
    if died:
        note += (f" {died} damaged file(s) crashed or hung a C library (libhdf5) itself: no "
                 "Python handler can catch that, so one such file stops the process that "
                 "reads it; the store target runs each example in a child process to count "
                 "them.")
    note += (" Found and fixed by this run earlier: a header signal line without a "
             "description gave a lead named None and an AttributeError; unnamed leads are "
             "now called ch0, ch1, ... A .mat file with one byte changed in its tags (an "
             "unknown element type, or a complex flag with no imaginary part) crashed the "
             "process inside scipy's MAT reader (a segfault, which no handler catches); "
             "ecgtool now checks the tags before scipy reads the file. A damaged v7.3 file "
             "gave a variable name as bytes and a TypeError; names are now made text. A "
             "damaged ecgtool store made h5py raise OSError, KeyError or RuntimeError, "
             "reported as an internal error without the file's name; it is now 'damaged "
             "store' naming the file. Stores with variable-length strings crashed or hung "
             "libhdf5 itself (about 1 in 1,700 overwritten stores: a segfault or an endless "
             "loop reading a "
             "string from a damaged global heap); stores now keep their text fixed-length "
             "(format version 2). A multi-segment record whose segment header gave no "
             "length raised TypeError (67 of 2,000 damaged headers); segment headers are now "
             "checked against the record's header. A beats table with a carriage return "
             "inside a field raised csv.Error (27 of 2,000 tables with text inserted); it is "
             "now the one-line error. A header whose rate was an integer too large for numpy "
             "(23 digits, which wfdb parses as a Python int) raised TypeError (1 of 2,000 "
             "headers with text inserted); it is now read, and detection calls the rate "
             "unsupported. An EDF file cut short was read as far as it went (edfio only "
             "warns), a shorter recording with no error: it is now 'truncated: the header "
             "gives N data records, the file holds M', and the 'EDF (cut short)' target "
             "counts a short read as a failure. A WFDB annotation file with a '## ' "
             "definition note at time 0 that wfdb does not know (a time-resolution note "
             "with a byte changed) made wfdb.rdann, then ecgtool's reader for files with "
             "definitions, loop forever; ecgtool now decodes every annotation file itself.")
    update_results_md("robustness", (
        f"## Robustness (`benchmarks/robustness.py`)\n\nCommand: `{payload['command']}`  \n"
        f"Measured {mi['date']}, commit {mi['commit'] or '?'}. Hypothesis-generated input, "
        f"bounded count per target.\n\n{table}\n\n{note}\n\n"
        f"Beat labels beside a NaN run (lost samples): each bundled record's first 5 minutes "
        f"analysed (detect, classify, rhythm) with one 3-s gap at a time, 20 places, against "
        f"the same minutes without it; the labels of the beats both keep are compared. An R-R "
        f"interval across a gap is no interval (`Beats.gap_before`); before that rule 3 and "
        f"26 labels changed, 3 and 10 of them the first beat after the gap (the same run "
        f"at commit 802c0a9). A beat whose R peak lies within 10 ms of the run is Q, "
        f"unclassified (`ecgtool.beats.windows.HIDDEN_MS`).\n\n{gap_table}\n\n"
        f"Beat labels at the record's edge: MIT-BIH DS1 beats (each record's beats other "
        f"than N, up to 20, and as many N beats, drawn with seed 0) labelled with 10 s of "
        f"their record on each side, then with the record cut a few ms before (start) or "
        f"after (end) the R peak, at the reference beat positions. 'Others' are beats the "
        f"reference calls neither V nor F; the network's call is its most likely class, "
        f"before the rules. A beat whose R peak lies within 30 ms of the edge is Q, "
        f"unclassified (`ecgtool.beats.windows.EDGE_MS`, chosen from this table: from "
        f"30 ms on, the network's false V or F calls are back at their level inside the "
        f"record). The shipped model trained on these records: the table measures what "
        f"the edge changes, not accuracy.\n\n{edge_table}\n"))


if __name__ == "__main__":
    main()
