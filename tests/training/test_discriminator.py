"""The discriminator's shapes, its spectral norm, and its style head learning a toy two-style case."""

from __future__ import annotations

import numpy as np
import torch

from tests.training.synthetic import dots, stripes
from training.data import StyleSampler
from training.discriminator import MultiScaleDiscriminator
from training.losses import style_classification_loss


def test_outputs_per_scale_and_selected_style_channel() -> None:
    d = MultiScaleDiscriminator(num_styles=3, base_channels=8, num_downsamples=3, num_scales=2)
    x, styles = torch.rand(2, 3, 64, 64), torch.tensor([0, 2])
    d.eval()  # spectral norm's power iteration would otherwise move between the two calls
    out = d(x, styles)
    assert [tuple(a.shape) for a in out.adversarial] == [(2, 1, 8, 8), (2, 1, 4, 4)]
    assert out.style_logits.shape == (2, 3)
    # The adversarial map of image i is the channel of its own style.
    full, _ = d.scales[0](x)
    assert torch.allclose(out.adversarial[0][1, 0], full[1, 2])


def test_every_convolution_is_spectrally_normalised() -> None:
    d = MultiScaleDiscriminator(num_styles=2, base_channels=8)
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(hasattr(m, "parametrizations") and "weight" in m.parametrizations for m in convs)


def test_style_head_beats_chance_on_two_toy_styles() -> None:
    torch.manual_seed(0)
    sampler = StyleSampler([stripes(128), dots(128)], size=32, jitter=0.2, seed=0)
    d = MultiScaleDiscriminator(num_styles=2, base_channels=8, num_scales=1)
    optimizer = torch.optim.Adam(d.parameters(), lr=2e-3, betas=(0.5, 0.99))
    for _ in range(25):
        labels = torch.randint(0, 2, (8,))
        loss = style_classification_loss(d(sampler.sample(labels), labels).style_logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    held_out = StyleSampler([stripes(128), dots(128)], size=32, jitter=0.2, seed=99)
    labels = torch.tensor([0, 1] * 16)
    with torch.no_grad():
        predicted = d(held_out.sample(labels), labels).style_logits.argmax(1)
    accuracy = float((predicted == labels).float().mean())
    assert accuracy >= 0.9, accuracy
    assert np.isfinite(loss.item())
