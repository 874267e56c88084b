"""Scoring jobs and report tables built on :mod:`ecgtool.evaluate`."""

from __future__ import annotations

from dataclasses import dataclass

from ecgtool.errors import EcgToolError
from ecgtool.evaluate import PACED_RECORDS, DetectionScore, gross, score_detection
from ecgtool.io.inputs import ReadOptions, Source, read_source


def score_job(src: Source, opts: ReadOptions, beats_store: str | None = None,
              skip_learning: bool = False, window_s: float = 0.15) -> DetectionScore:
    """Detect (or load) the beats of one annotated record and score them."""
    rec = read_source(src, opts)
    if rec.annotations is None:
        raise EcgToolError("no reference annotations (.atr) to score against", src.path)
    if beats_store:
        from ecgtool.io import store

        f = store.open_store(beats_store)
        try:
            beats = store.read_beats(f, rec.name, beats_store)
        finally:
            f.close()
        if beats is None:
            raise EcgToolError(f"record {rec.name!r} has no beats table", beats_store)
        peaks = beats.r_peak
    else:
        from ecgtool.signal.detect import detect_r_peaks

        peaks = detect_r_peaks(rec.signal, rec.fs)
    return score_detection(rec.name, rec.annotations, peaks, rec.fs, rec.n_samples,
                           skip_learning=skip_learning, window_s=window_s)


@dataclass
class ScoreTable:
    """Per-record scores with gross totals, non-paced and paced apart."""

    records: list[DetectionScore]

    def groups(self) -> dict[str, DetectionScore]:
        paced = [s for s in self.records if s.record in PACED_RECORDS]
        other = [s for s in self.records if s.record not in PACED_RECORDS]
        out = {}
        if other:
            out["gross"] = gross(other, "gross")
        if paced:
            out["gross paced"] = gross(paced, "gross paced")
        return out

    def text(self) -> str:
        head = f"{'record':<14}{'beats':>7}{'TP':>7}{'FN':>6}{'FP':>6}{'Se%':>8}{'+P%':>8}{'F1%':>8}"
        lines = [head]
        rows = list(self.records) + list(self.groups().values())
        for i, s in enumerate(rows):
            if i == len(self.records):
                lines.append("-" * len(head))
            lines.append(f"{s.record:<14}{s.tp + s.fn:>7}{s.tp:>7}{s.fn:>6}{s.fp:>6}"
                         f"{100 * s.se:>8.2f}{100 * s.ppv:>8.2f}{100 * s.f1:>8.2f}")
        return "\n".join(lines)

    def as_dict(self, **settings) -> dict:
        def d(s: DetectionScore) -> dict:
            return {"record": s.record, "tp": s.tp, "fn": s.fn, "fp": s.fp,
                    "se": s.se, "ppv": s.ppv, "f1": s.f1}

        return {"settings": settings, "records": [d(s) for s in self.records],
                "gross": {k: d(v) for k, v in self.groups().items()}}


def score_table(scores: list[DetectionScore]) -> ScoreTable:
    return ScoreTable(list(scores))
