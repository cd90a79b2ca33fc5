"""Style mixes: parsing ``NAME[=WEIGHT]`` specs into a normalised weight vector.

A mix is a weight vector ``w`` over a bank's styles, non-negative and summing to one, so the
conditional instance norm parameters ``w @ gamma`` stay inside the convex hull of trained styles.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import numpy as np

from rtstyle.errors import InputError, StyleNotFoundError


def parse_style_spec(spec: str) -> tuple[str, float]:
    """``"starry_night=0.7"`` → ``("starry_night", 0.7)``; a bare name weighs 1."""
    name, sep, weight_text = spec.partition("=")
    name = name.strip()
    if not name:
        raise InputError(f"invalid --style {spec!r}: expected NAME or NAME=WEIGHT")
    if not sep:
        return name, 1.0
    try:
        weight = float(weight_text)
    except ValueError:
        raise InputError(f"invalid weight in --style {spec!r}: {weight_text!r} is not a number") from None
    if not np.isfinite(weight) or weight < 0:
        raise InputError(f"invalid weight in --style {spec!r}: weights must be finite and >= 0")
    return name, weight


def normalize_weights(weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Scale non-negative weights to sum to one (float32 ``[S]``)."""
    vector = np.asarray(weights, dtype=np.float64)
    if vector.ndim != 1 or vector.size == 0:
        raise InputError("style weights must be a non-empty vector")
    if not np.all(np.isfinite(vector)) or np.any(vector < 0):
        raise InputError("style weights must be finite and non-negative")
    total = vector.sum()
    if total <= 0:
        raise InputError("style weights sum to zero: give at least one style a positive weight")
    return (vector / total).astype(np.float32)


def mix_from_specs(specs: Sequence[str], style_names: Sequence[str], default: str | None = None) -> np.ndarray:
    """Weight vector over ``style_names`` from ``--style`` specs (default: ``default`` or the first)."""
    weights = np.zeros(len(style_names), dtype=np.float64)
    if not specs:
        weights[style_names.index(default) if default in style_names else 0] = 1.0
        return normalize_weights(weights)
    for spec in specs:
        name, weight = parse_style_spec(spec)
        if name not in style_names:
            raise StyleNotFoundError(_unknown_style_message(name, style_names))
        weights[style_names.index(name)] += weight
    return normalize_weights(weights)


def _unknown_style_message(name: str, style_names: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, style_names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown style {name!r}{hint}; this model has: {', '.join(style_names)}"
