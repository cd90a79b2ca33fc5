"""What the style options name: a bank's styles, saved picture styles, picture files.

``--style NAME[=W]``, ``--region-style`` and ``--style-image PICTURE[=W]`` can mix a bank's own
styles with pictures.  A name is first one of the bank's styles, then a saved picture style
(``rtstyle styles add``), then a picture file.  Pictures need an any-style bank; when none is
named with ``--model``, the bundled one (:data:`rtstyle.catalog.ANY_STYLE_BANK`) is used, which
also holds the default bank's styles, so ``--style-image a.jpg=0.6 --style starry_night=0.4``
works as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rtstyle.catalog import ANY_STYLE_BANK, resolve_bank
from rtstyle.errors import InputError
from rtstyle.mixing import parse_style_spec
from rtstyle.picture_styles import (PictureStyle, extra_styles, find_picture_style, name_from_path, read_picture_style,
                                    unique_name)
from rtstyle.stylefile import StyleBank, load_style_bank, read_bank_metadata


@dataclass
class StyleChoice:
    """The bank to load (with the pictures as extra styles) and the specs in its style names."""

    bank: StyleBank
    style_specs: list[str]
    region_specs: list[str]
    notes: list[str] = field(default_factory=list)  # one line per picture that reads poorly


def choose_styles(
    model: str | None, style_specs: Sequence[str], picture_specs: Sequence[str], region_specs: Sequence[str] = ()
) -> StyleChoice:
    """Load the bank ``model`` names (or the one pictures need) with every picture the specs name."""
    bank_path = resolve_bank(model)
    names = {str(s.get("name")) for s in read_bank_metadata(bank_path)["styles"] if isinstance(s, dict)}
    pictures: dict[str, PictureStyle] = {}
    read: dict[Path, str] = {}  # picture files already read, so one named twice is one style
    notes: list[str] = []

    def rewrite(spec: str, *, is_picture: bool = False) -> str:
        name, _sep, weight = spec.partition("=")
        name = name.strip()
        if not is_picture and name in names:
            return spec
        parse_style_spec(spec)  # a malformed weight fails as the one-line --style error
        picture = None if is_picture else find_picture_style(name)
        if picture is None:
            path = Path(name).expanduser()
            if not path.is_file():
                if is_picture:
                    raise InputError(f"--style-image {name}: no such file")
                return spec  # an unknown style: the mix reports it with the bank's style names
            if path.resolve() not in read:
                style = read_picture_style(path, name=unique_name(name_from_path(path), names | set(pictures)),
                                           notes=notes)
                read[path.resolve()] = style.name
                pictures[style.name] = style
            picture = pictures[read[path.resolve()]]
        pictures.setdefault(picture.name, picture)
        return f"{picture.name}={weight}" if weight else picture.name

    styles = [rewrite(spec) for spec in style_specs] + [rewrite(spec, is_picture=True) for spec in picture_specs]
    regions = [",".join(rewrite(part) for part in spec.split(",")) for spec in region_specs]
    if pictures and model is None:
        bank_path = resolve_bank(ANY_STYLE_BANK)
    bank = load_style_bank(bank_path)
    if pictures:
        if not bank.any_style:
            raise InputError(f"style bank {bank.name} paints only its own styles; pictures as styles need an "
                             f"any-style bank such as {ANY_STYLE_BANK} (leave out --model)")
        bank = bank.with_extra_styles(*extra_styles(list(pictures.values())))
    return StyleChoice(bank, styles, regions, notes)
