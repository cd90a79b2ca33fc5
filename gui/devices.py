"""What the backend and device pickers offer, asked of the runtime.

The window asks :mod:`rtstyle.backends` and :mod:`rtstyle.device` rather than torch (nothing in
``gui/`` touches torch): every registered backend is offered, since whether one works here (its
library installed, an engine buildable for this GPU) is only known by building it, which the
loader does in the background and reports like any model fault; a device is offered when
``pick_device`` accepts it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rtstyle.backends.registry import AUTO, backend_label, backend_names
from rtstyle.device import pick_device
from rtstyle.errors import RtStyleError

#: CUDA indices probed; machines with more GPUs can still pass ``--device cuda:N``.
_MAX_CUDA_DEVICES = 8


@dataclass(frozen=True)
class Choice:
    value: str  # what Stylizer takes as backend= or device=
    label: str  # what the picker shows


def available_backends() -> list[Choice]:
    """Every backend the runtime registers, ``auto`` first, labelled as each backend names itself."""
    return [Choice(name, "Automatic (fastest that works)" if name == AUTO else backend_label(name))
            for name in backend_names()]


def _accepted(name: str) -> bool:
    try:
        pick_device(name)
    except RtStyleError:
        return False
    return True


def available_devices() -> list[Choice]:
    """Automatic first, then every device present on this machine."""
    choices = [Choice("auto", "Automatic (GPU if present)"), Choice("cpu", "CPU")]
    for index in range(_MAX_CUDA_DEVICES):
        if not _accepted(f"cuda:{index}"):
            break
        choices.append(Choice(f"cuda:{index}", f"CUDA GPU {index}"))
    if _accepted("mps"):
        choices.append(Choice("mps", "Apple GPU (MPS)"))
    return choices


def device_type(name: str) -> str:
    """``cpu``, ``cuda`` or ``mps``: what ``name`` means here (``auto`` resolved), never raising.

    A device this machine lacks keeps its type, so a failed ``cuda`` load still counts as a GPU
    fault and the window offers the CPU.
    """
    return pick_device("auto").type if name == "auto" else name.split(":")[0]
