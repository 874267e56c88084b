"""ecgtool: heartbeats, beat labels, rhythm episodes and verdicts from single-lead ECG.

The public functions are imported on first use, so ``import ecgtool`` (and
``ecgtool detect``) never pays for JAX.

Examples
--------
>>> import ecgtool
>>> rec = ecgtool.read_sample("119")
>>> beats = ecgtool.detect_beats(rec.signal, rec.fs)
>>> len(beats) > 1900
True
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_API = {
    "read_record": "ecgtool.io.inputs:read_record",
    "read_wfdb": "ecgtool.io.wfdbfiles:read_wfdb",
    "read_csv": "ecgtool.io.csvfiles:read_csv",
    "read_ishne": "ecgtool.io.ishnefiles:read_ishne",
    "read_ishne_annotations": "ecgtool.io.ishnefiles:read_ishne_annotations",
    "read_xml_ecg": "ecgtool.io.xmlecg:read_xml_ecg",
    "read_dicom": "ecgtool.io.dicomfiles:read_dicom",
    "read_sample": "ecgtool.io.records:read_sample",
    "write_wfdb": "ecgtool.io.wfdbout:write_wfdb",
    "write_edf": "ecgtool.io.edfout:write_edf",
    "Record": "ecgtool.io.records:Record",
    "Annotations": "ecgtool.io.records:Annotations",
    "Beats": "ecgtool.beats.table:Beats",
    "detect_beats": "ecgtool.signal.detect:detect_beats",
    "detect_r_peaks": "ecgtool.signal.detect:detect_r_peaks",
    "delineate": "ecgtool.signal.delineate:delineate",
    "classify_beats": "ecgtool.ml.classify:classify_beats",
    "find_rhythms": "ecgtool.rhythm:find_rhythms",
    "analyse_signal": "ecgtool.analysis:analyse_signal",
    "conduction_intervals": "ecgtool.intervals:conduction_intervals",
    "diagnose_analysis": "ecgtool.diagnose:diagnose_analysis",
    "hrv": "ecgtool.variability:hrv",
    "heart_rate_turbulence": "ecgtool.hrt:heart_rate_turbulence",
    "hourly_analysis": "ecgtool.hourly:hourly_analysis",
    "score_detection": "ecgtool.evaluate:score_detection",
    "EcgToolError": "ecgtool.errors:EcgToolError",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str):
    try:
        target = _API[name]
    except KeyError:
        raise AttributeError(f"module 'ecgtool' has no attribute {name!r}") from None
    module, attr = target.split(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value
