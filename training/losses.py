"""Loss functions of style training, each a small function with its equation beside it.

Notation: ``D(·)`` is a raw discriminator logit map, ``x`` a content image, ``y = G(x, s)`` its
stylization, ``r`` a real patch of the painting.  Every loss returns a scalar tensor; which network
its gradient reaches is decided by the caller (``detach`` or ``requires_grad_(False)``), and each
function's tests check exactly that.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from rtstyle.color import luma
from rtstyle.models.resample import resize

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Adversarial objective: the hinge loss (the only one a default ever used; LSGAN, BCE and WGAN-GP
# were removed as no measurement favoured them)
# --------------------------------------------------------------------------------------------


def hinge_g_loss(fake: torch.Tensor) -> torch.Tensor:
    # L_G = -E[D(y)]   (Lim & Ye 2017; Miyato et al. 2018 use it with spectral norm)
    return -fake.mean()


def hinge_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    # L_D = E[max(0, 1 - D(r))] + E[max(0, 1 + D(y))]
    # The margin stops D from pushing logits forever on a single painting it has memorised,
    # which keeps its gradients useful to G longer than BCE's.
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def style_classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Auxiliary style classifier of the discriminator (StarGAN, Choi et al. 2018).

    # L_cls = E[-log p(s | image)] with p = softmax(logits) over the bank's S styles
    D minimises it on real painting patches; G minimises it on its stylizations with the
    target style, which keeps the styles of one bank apart instead of blending into one.
    """
    return F.cross_entropy(logits, labels)


# --------------------------------------------------------------------------------------------
# Content, style and regularisers
# --------------------------------------------------------------------------------------------


def patch_nce_loss(query: torch.Tensor, key: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """PatchNCE (Park et al. 2020, CUT): each output patch must identify its own input patch.

    ``query`` [N,P,D] are embeddings of P locations of G(x), ``key`` [N,P,D] of the same locations
    of x, both L2-normalised.  The other P-1 locations of the same image are the negatives:

    # L = E_i[-log( exp(q_i·k_i/τ) / Σ_j exp(q_i·k_j/τ) )]
    """
    logits = torch.bmm(query, key.transpose(1, 2)) / temperature  # [N,P,P]
    n, p, _ = logits.shape
    target = torch.arange(p, device=logits.device).expand(n, p)
    return F.cross_entropy(logits.reshape(n * p, p), target.reshape(-1))


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Channel co-occurrence ``[N,C,C]`` of features ``[N,C,H,W]``, averaged over positions.

    # G_ij = 1/(HW) Σ_p F_i(p) F_j(p)   (Gatys et al. 2016)
    """
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w).float()
    return torch.bmm(flat, flat.transpose(1, 2)) / (h * w)


def gram_style_loss(fake_features: Sequence[torch.Tensor], target_grams: Sequence[torch.Tensor]) -> torch.Tensor:
    """Match Gram matrices layer by layer, each layer normalised by its target's energy.

    # L = Σ_l ‖Gram(φ_l(y)) - Gram_l^target‖²_F / ‖Gram_l^target‖²_F
    The normalisation makes layers of different scale (raw pixels vs deep random features vs
    discriminator features) count alike without a weight per layer.  ``target_grams[l]`` is
    ``[N,C,C]`` or ``[1,C,C]`` (broadcast), e.g. a painting's Gram averaged over many patches.
    """
    total = fake_features[0].new_zeros(())
    for features, target in zip(fake_features, target_grams, strict=True):
        gram = gram_matrix(features)
        target = target.to(gram.dtype)
        energy = target.pow(2).sum(dim=(1, 2)).clamp_min(1e-8)
        total = total + ((gram - target).pow(2).sum(dim=(1, 2)) / energy).mean()
    return total


def random_affine(
    batch: int,
    *,
    max_translate: float,
    max_rotate_deg: float,
    max_scale: float,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Random small affine transforms ``[N,2,3]`` in normalised coordinates (for ``affine_grid``).

    ``max_translate`` is a fraction of the image side; the ranges mimic frame-to-frame camera
    motion (shift, slight roll and zoom) of video.
    """

    def uniform(scale: float) -> torch.Tensor:
        return (torch.rand(batch, generator=generator) * 2.0 - 1.0) * scale

    angle = uniform(math.radians(max_rotate_deg))
    scale = 1.0 + uniform(max_scale)
    tx, ty = uniform(2.0 * max_translate), uniform(2.0 * max_translate)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    return theta.to(device)


def warp(image: torch.Tensor, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Warp ``[N,C,H,W]`` by ``theta`` ``[N,2,3]``; also return the mask ``[N,1,H,W]`` of valid pixels."""
    grid = F.affine_grid(theta.to(image.dtype), list(image.shape), align_corners=False)
    warped = F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    ones = torch.ones_like(image[:, :1])
    mask = F.grid_sample(ones, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return warped, (mask > 0.999).to(image.dtype)


def temporal_consistency_loss(
    stylize: Callable[[torch.Tensor], torch.Tensor], content: torch.Tensor, stylized: torch.Tensor, theta: torch.Tensor
) -> torch.Tensor:
    """Synthetic-motion consistency: stylizing a moved frame must move the stylization.

    # L_temp = Σ M ⊙ |G(warp(x)) - warp(G(x))| / Σ M     (M: pixels valid after the warp)
    Optical flow is not needed: a known random affine plays the camera motion between two
    frames (Ruder et al. 2016 use real flow; ReCoNet and Gao et al. 2018 the same idea).  The
    mask excludes pixels the warp moved in from outside, whose content G never saw.
    """
    moved_content, mask = warp(content, theta)
    moved_stylized, _ = warp(stylized, theta)
    restylized = stylize(moved_content)
    diff = (restylized - moved_stylized).abs() * mask
    return diff.sum() / (mask.sum() * content.shape[1]).clamp_min(1.0)


def scale_consistency_loss(
    stylize: Callable[[torch.Tensor], torch.Tensor], content: torch.Tensor, stylized: torch.Tensor
) -> torch.Tensor:
    """Stylizing the half-size image must give the stylization shrunk to half size.

    # L_scale = E|G(↓x) − ↓G(x)|        (↓: antialiased shrink to ½)
    The runtime's ``--scale 0.5`` runs G on the shrunk frame and F restores the detail; that can
    only match G at full resolution where G's strokes survive shrinking.  A convolutional G paints
    strokes at its own pixel size, so this term trades fine, pixel-sized strokes for ones both
    resolutions agree on; gradients reach G through both sides.  Measured trade-off (strokes
    against detail SSIM at ½) in bench/RESULTS.md.
    """
    height, width = content.shape[-2:]
    half = (max(1, height // 2), max(1, width // 2))
    return (stylize(resize(content, half)) - resize(stylized, half)).abs().mean()


def reconstruction_loss(output: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Pixel L1 to the content image, for the warm-up that starts G near the identity.

    # L_rec = E|y - x|
    A randomly initialised generator outputs grey mush; starting the GAN from the identity
    means PatchNCE and the discriminator refine a picture instead of inventing one.
    """
    return (output - content).abs().mean()


def perceptual_loss(fake_features: Sequence[torch.Tensor], content_features: Sequence[torch.Tensor]) -> torch.Tensor:
    """Feature reconstruction (Johnson et al. 2016), for a fixed network such as VGG.

    # L = Σ_l ‖φ_l(y) - φ_l(x)‖² / (C_l H_l W_l)
    """
    total = fake_features[0].new_zeros(())
    for fake, content in zip(fake_features, content_features, strict=True):
        total = total + F.mse_loss(fake.float(), content.float())
    return total


def sliced_wasserstein_loss(
    projections: Sequence[torch.Tensor], target_quantiles: Sequence[torch.Tensor]
) -> torch.Tensor:
    """Sliced Wasserstein distance between patch distributions, level by level.

    ``projections[l]`` [N,K,P]: K random 1-D projections of the P patches of each output image;
    ``target_quantiles[l]`` [K,Q] (or [N,K,Q]): the painting's sorted projections at Q ranks.
    In 1-D the optimal transport pairs values by rank, so with the target read at the output's
    ranks:

    # SW²_l = E_k E_i (sort(π_k y)_i - F_k⁻¹(r_i))²  /  Var(π_k r)     (Rabin et al. 2011)
    Dividing by the painting's projection variance makes every level count alike, and a value
    near 1 means "no closer than a flat image of the right mean".
    """
    total = projections[0].new_zeros(())
    for projection, quantiles in zip(projections, target_quantiles, strict=False):
        ordered = projection.float().sort(dim=-1).values
        count, table = ordered.shape[-1], quantiles.float()
        ranks = torch.linspace(0, table.shape[-1] - 1, count, device=table.device).round().long()
        target = table[..., ranks]
        scale = table.var(dim=-1).mean().clamp_min(1e-8)
        total = total + (ordered - target).pow(2).mean() / scale
    return total


def structure_loss(output: torch.Tensor, content: torch.Tensor, window: int = 7, scales: int = 2) -> torch.Tensor:
    """Keep the content's edges: the structure term of SSIM on luminance, at ``scales`` scales.

    # s = (σ_xy + c) / (σ_x σ_y + c),   L = 1 - E[s]     (Wang et al. 2004, SSIM's third factor)
    Unlike pixel or feature L1 it ignores local brightness and contrast, so the palette and
    stroke energy are free to change, and where the content is flat (σ_x ≈ 0 → s = 1) any
    texture is allowed.  PatchNCE alone, on a generator this small, let strokes wash out faces.
    """
    c = (0.03**2) / 2
    pad = window // 2
    x, y = luma(content.float()), luma(output.float())
    total = x.new_zeros(())
    for scale in range(scales):
        if scale:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)

        def local_mean(t: torch.Tensor) -> torch.Tensor:
            return F.avg_pool2d(F.pad(t, (pad,) * 4, mode="reflect"), window, stride=1)

        mu_x, mu_y = local_mean(x), local_mean(y)
        var_x = (local_mean(x * x) - mu_x**2).clamp_min(0)
        var_y = (local_mean(y * y) - mu_y**2).clamp_min(0)
        cov = local_mean(x * y) - mu_x * mu_y
        total = total + (1.0 - (cov + c) / ((var_x * var_y + 1e-12).sqrt() + c)).mean()  # eps: finite grad at 0
    return total / scales
