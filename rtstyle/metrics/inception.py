"""Inception-v3 features for FID, KID and the Inception Score — only when its weights are here.

Nothing is downloaded: the weights are torchvision's ``inception_v3_google-0cc3c7bd.pth`` found in
torch's hub cache (where torchvision would have put it), or a file given explicitly
(``--inception-weights PATH`` / ``RTSTYLE_INCEPTION_WEIGHTS``), read with
``torch.load(weights_only=True)`` or as safetensors.  Without torchvision or the weights,
:func:`load_inception` raises :class:`BackendUnavailableError` with the reason, and the evaluation
report says the scores were skipped and why.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from rtstyle.errors import BackendUnavailableError

WEIGHTS_ENV = "RTSTYLE_INCEPTION_WEIGHTS"
TORCHVISION_FILE = "inception_v3_google-0cc3c7bd.pth"
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def find_weights(explicit: str | os.PathLike | None = None) -> Path | None:
    """The first of: ``explicit``, ``$RTSTYLE_INCEPTION_WEIGHTS``, torch's hub cache copy."""
    candidates = [explicit, os.environ.get(WEIGHTS_ENV), Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


class InceptionFeatures:
    """Pool-3 features (2048-d) and class probabilities of torchvision's Inception-v3."""

    def __init__(self, weights: Path, device: torch.device) -> None:
        try:
            from torchvision.models import inception_v3
        except Exception as exc:  # noqa: BLE001 - torchvision may be missing or built for another torch
            raise BackendUnavailableError(f"FID/KID need torchvision ({type(exc).__name__}: {exc})") from None
        model = inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=False)
        model.load_state_dict(_read_state(weights))
        self.model = model.eval().to(device)
        self.device = device
        self._pool: list[torch.Tensor] = []
        self.model.avgpool.register_forward_hook(lambda _m, _i, out: self._pool.append(out.flatten(1)))

    @torch.inference_mode()
    def __call__(self, images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """uint8 RGB images (any sizes) → (features ``[N,2048]``, probabilities ``[N,1000]``)."""
        features, probabilities = [], []
        mean = torch.tensor(_IMAGENET_MEAN, device=self.device)[:, None, None]
        std = torch.tensor(_IMAGENET_STD, device=self.device)[:, None, None]
        for image in images:
            x = torch.from_numpy(image).to(self.device).permute(2, 0, 1)[None].float() / 255.0
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False, antialias=True)
            self._pool.clear()
            logits = self.model((x - mean) / std)
            features.append(self._pool[0].cpu().numpy())
            probabilities.append(torch.softmax(logits, dim=1).cpu().numpy())
        return np.concatenate(features), np.concatenate(probabilities)


def load_inception(explicit: str | os.PathLike | None, device: torch.device) -> InceptionFeatures:
    weights = find_weights(explicit)
    if weights is None:
        raise BackendUnavailableError(
            f"no Inception-v3 weights (give --inception-weights PATH, set {WEIGHTS_ENV}, or place "
            f"{TORCHVISION_FILE} in {Path(torch.hub.get_dir()) / 'checkpoints'})"
        )
    return InceptionFeatures(weights, device)
