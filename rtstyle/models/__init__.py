"""Neural networks of the runtime: the multi-style generator and its building blocks.

Importing this package registers every generator architecture a bank may name
(:mod:`rtstyle.models.registry`): a new one is its module plus one import line here.
"""

from rtstyle.models.generator import PRESETS, GeneratorConfig, StyleGenerator, preset_config
from rtstyle.models.registry import GENERATORS, Generator, architecture, register_generator

__all__ = ["GENERATORS", "PRESETS", "Generator", "GeneratorConfig", "StyleGenerator", "architecture",
           "preset_config", "register_generator"]
