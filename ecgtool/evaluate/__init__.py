"""Scoring against reference annotations (ANSI/AAMI EC57): beats
(:mod:`~ecgtool.evaluate.beats`), wave boundaries
(:mod:`~ecgtool.evaluate.waves`) and rhythm episodes
(:mod:`~ecgtool.evaluate.episodes`)."""

from ecgtool.evaluate.beats import (BEAT_SYMBOLS, LEARNING_PERIOD_S, MATCH_WINDOW_S,
                                    PACED_RECORDS, BeatMatch, DetectionScore,
                                    excluded_spans, gross, match_beats, reference_beats,
                                    score_detection, scored_mask, unreadable_spans)
from ecgtool.evaluate.episodes import (RHYTHM_CODES, EpisodeScore, Span, annotated_span,
                                       gross_episodes, reference_rhythm, rhythm_at,
                                       score_episodes)
from ecgtool.evaluate.waves import (WAVE_POINTS, PointErrors, WaveReference, beat_errors,
                                    best_lead_errors, delineation_errors, point_errors,
                                    reference_waves)

__all__ = ["BEAT_SYMBOLS", "LEARNING_PERIOD_S", "MATCH_WINDOW_S", "PACED_RECORDS",
           "BeatMatch", "DetectionScore", "excluded_spans", "gross", "match_beats",
           "reference_beats", "score_detection", "scored_mask", "unreadable_spans",
           "RHYTHM_CODES", "EpisodeScore", "Span", "annotated_span", "gross_episodes",
           "reference_rhythm", "rhythm_at", "score_episodes", "WAVE_POINTS", "PointErrors",
           "WaveReference",
           "beat_errors", "best_lead_errors", "delineation_errors", "point_errors",
           "reference_waves"]
