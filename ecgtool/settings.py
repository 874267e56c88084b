"""Settings given as text, ``NAME=VALUE`` on the command line: one parser for
the numeric fields of a frozen settings dataclass (``diagnose --threshold``,
``rhythm --rhythm-setting``)."""

from __future__ import annotations

from dataclasses import fields, replace


def numeric_overrides(base, items: dict, what: str, at_least: dict | None = None):
    """``base`` with the numeric fields named in ``items`` ({name: text}) set.

    Each value takes the type of the field's default (a whole number for an
    int); none may be NaN or below 0, or below its ``at_least`` bound (inf
    is allowed: "never", e.g. a rate no beat reaches). Errors are
    ``ValueError`` naming ``what`` (e.g. "threshold") and the field.

    Examples
    --------
    >>> from ecgtool.rhythm import RhythmSettings
    >>> numeric_overrides(RhythmSettings(), {"pause_s": "3"}, "rhythm setting").pause_s
    3.0
    >>> numeric_overrides(RhythmSettings(), {"af_min_beats": "2.5"}, "rhythm setting")
    Traceback (most recent call last):
    ...
    ValueError: rhythm setting af_min_beats: '2.5' is not a whole number
    """
    kinds = {f.name: type(getattr(base, f.name)) for f in fields(base)
             if type(getattr(base, f.name)) in (int, float)}
    bad = [k for k in items if k not in kinds]
    if bad:
        raise ValueError(f"unknown {what} {bad[0]!r} (known: {', '.join(kinds)})")
    values = {}
    for k, v in items.items():
        try:
            values[k] = kinds[k](v)
        except ValueError:
            kind = "a whole number" if kinds[k] is int else "a number"
            raise ValueError(f"{what} {k}: {v!r} is not {kind}") from None
        least = (at_least or {}).get(k, 0)
        if not values[k] >= least:
            raise ValueError(f"{what} {k}: {v!r} must be a number of {least:g} or more")
    return replace(base, **values)
