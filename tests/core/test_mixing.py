from __future__ import annotations

import numpy as np
import pytest

from rtstyle.errors import InputError, StyleNotFoundError
from rtstyle.mixing import mix_from_specs, parse_style_spec

NAMES = ["starry_night", "great_wave", "scream"]


def test_specs_become_normalised_weights() -> None:
    np.testing.assert_allclose(mix_from_specs(["starry_night=3", "scream=1"], NAMES), [0.75, 0.0, 0.25])
    np.testing.assert_allclose(mix_from_specs(["great_wave"], NAMES), [0.0, 1.0, 0.0])
    np.testing.assert_allclose(mix_from_specs([], NAMES), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(mix_from_specs(["scream", "scream"], NAMES), [0.0, 0.0, 1.0])


def test_bad_specs_are_user_errors() -> None:
    with pytest.raises(StyleNotFoundError, match="did you mean 'scream'"):
        mix_from_specs(["screem"], NAMES)
    for spec in ["=1", "scream=abc", "scream=-1", "scream=nan"]:
        with pytest.raises(InputError):
            parse_style_spec(spec)
    with pytest.raises(InputError, match="sum to zero"):
        mix_from_specs(["scream=0"], NAMES)
