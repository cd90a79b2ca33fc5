"""Neural networks of the runtime: the multi-style generator and its building blocks."""

from rtstyle.models.generator import PRESETS, GeneratorConfig, StyleGenerator, preset_config

__all__ = ["PRESETS", "GeneratorConfig", "StyleGenerator", "preset_config"]
