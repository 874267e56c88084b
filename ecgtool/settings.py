"""Settings given as text, ``NAME=VALUE`` on the command line: one parser for
the fields of a frozen settings dataclass (``detect --detector``, ``diagnose
--threshold``, ``rhythm --rhythm-setting``), and one account of the fields
that differ from the defaults (what a store's job record keeps)."""

from __future__ import annotations

import math
from dataclasses import fields, replace


def apply_overrides(base, items: dict, what: str, at_least: dict | None = None, *,
                    above: dict | None = None, finite: bool = False,
                    words: dict | None = None):
    """``base`` with the fields named in ``items`` ({name: text}) set.

    Each numeric value takes the type of the field's default (a whole number
    for an int); none may be NaN or below 0, or below its ``at_least`` bound,
    or at or below its ``above`` bound. inf is allowed ("never", e.g. a rate
    no beat reaches) unless ``finite``. ``words`` gives the fields set by a
    word instead ({name: {word: value}}, matched without case). Errors are
    ``ValueError`` naming ``what`` (e.g. "threshold") and the field.

    Examples
    --------
    >>> from ecgtool.rhythm import RhythmSettings
    >>> apply_overrides(RhythmSettings(), {"pause_s": "3"}, "rhythm setting").pause_s
    3.0
    >>> apply_overrides(RhythmSettings(), {"af_min_beats": "2.5"}, "rhythm setting")
    Traceback (most recent call last):
    ...
    ValueError: rhythm setting af_min_beats: '2.5' is not a whole number
    """
    words = words or {}
    kinds = {f.name: type(getattr(base, f.name)) for f in fields(base)
             if type(getattr(base, f.name)) in (int, float) or f.name in words}
    bad = [k for k in items if k not in kinds]
    if bad:
        raise ValueError(f"unknown {what} {bad[0]!r} (known: {', '.join(kinds)})")
    values = {}
    for k, v in items.items():
        if k in words:
            choice = {w.lower(): value for w, value in words[k].items()}
            if v.lower() not in choice:
                raise ValueError(f"{what} {k}: {v!r} is not {' or '.join(map(repr, words[k]))}")
            values[k] = choice[v.lower()]
            continue
        try:
            values[k] = kinds[k](v)
        except ValueError:
            kind = "a whole number" if kinds[k] is int else "a number"
            raise ValueError(f"{what} {k}: {v!r} is not {kind}") from None
        least = (at_least or {}).get(k, 0)
        if k in (above or {}) and not values[k] > above[k]:
            raise ValueError(f"{what} {k}: {v!r} must be a number above {above[k]:g}")
        if not values[k] >= least:
            raise ValueError(f"{what} {k}: {v!r} must be a number of {least:g} or more")
        if finite and not math.isfinite(values[k]):
            raise ValueError(f"{what} {k}: {v!r} must be a finite number")
    return replace(base, **values)


def changed_fields(settings, leave_out: tuple = ()) -> dict:
    """The fields of ``settings`` that differ from its class's defaults.

    Examples
    --------
    >>> from ecgtool.rhythm import RhythmSettings
    >>> changed_fields(RhythmSettings(pause_s=3.0))
    {'pause_s': 3.0}
    """
    base = type(settings)()
    return {f.name: getattr(settings, f.name) for f in fields(settings)
            if f.name not in leave_out and getattr(settings, f.name) != getattr(base, f.name)}
