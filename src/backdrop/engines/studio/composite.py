"""Putting the subject into the scene like a photographer: placement, depth of field, shadows,
clean edges, light wrap and a gentle colour match."""

from __future__ import annotations

import numpy as np

from backdrop.engines.studio.layers import F, blur
from backdrop.engines.studio.lighting import key_color
from backdrop.engines.studio.recipe import Light
from backdrop.imaging.shadows import ShadowSpec, shadow_amount

_HORIZON_MIN, _HORIZON_MAX = 0.22, 0.8


def horizon_for(top: float, bottom: float) -> float:
    """Where the floor meets the back: a little above the subject's base, so it stands on it.

    The input framing is kept: the subject stays where it is and the scene is built around it.
    """
    horizon = bottom - 0.3 * (bottom - top)
    if bottom >= 0.98:  # cut by the frame (a portrait): the floor is out of sight below
        horizon = top + 0.75 * (bottom - top)
    return float(np.clip(horizon, _HORIZON_MIN, _HORIZON_MAX))


def depth_of_field(image: F, depth: F, amount: float) -> F:
    """Blur growing with depth behind the subject: three blur levels mixed by depth."""
    width = image.shape[1]
    strongest = width * 0.018 * amount
    if strongest < 0.5:
        return image
    light = blur(image, strongest * 0.4)
    heavy = blur(image, strongest)
    d = np.clip(depth, 0.0, 1.0)[..., None]
    near_mix = np.clip(d * 2.0, 0.0, 1.0)
    far_mix = np.clip(d * 2.0 - 1.0, 0.0, 1.0)
    result: F = (
        image * (1 - near_mix) + light * near_mix * (1 - far_mix) + heavy * far_mix
    ).astype(np.float32)
    return result


def shadow_map(alpha: F, box: tuple[float, float, float, float], horizon: float, light: Light) -> F:
    """How much each backdrop pixel is darkened (h, w), 0..1: contact shadow plus cast shadow,
    drawn by the product stage's shadows (imaging/shadows.py, one implementation) with the
    scene's key light and floor."""
    height, width = alpha.shape
    left, top, right, bottom = box
    if bottom >= 0.98:
        return np.zeros_like(alpha)
    box_px = (left * width, top * height, right * width, bottom * height)
    softness = float(np.clip(1.0 - light.hardness, 0.0, 1.0))
    total = shadow_amount(alpha, box_px, ShadowSpec("contact", opacity=1.0, softness=softness))
    # Cast: the silhouette laid on the floor away from the light, foreshortened by perspective.
    # A key light right behind the camera would hide the shadow behind the subject; like a
    # photographer we keep the key a little off-axis, so the shadow always shows beside it.
    elevation = max(light.elevation, 0.08)
    length = float(np.clip(0.6 / (elevation * 2.2 + 0.3), 0.55, 1.6))
    lateral = max(abs(light.direction), 0.6)
    floor_room = max(bottom - horizon, 0.05) / max(bottom - top, 0.05)
    depth_scale = min(0.25 * length, 0.9 * floor_room)
    strength = 0.3 + 0.3 * light.hardness * min(light.brightness * 1.3, 1.0)
    cast = ShadowSpec(
        "cast",
        opacity=float(np.clip(strength, 0.0, 1.0)),
        softness=softness,
        # From the side the light is on (90: the right), as far as the studio's key throws it.
        angle=90.0 if light.direction >= 0 else -90.0,
        length=float(min(lateral * length * 1.3, 3.0)),
    )
    total += shadow_amount(alpha, box_px, cast, back=depth_scale)
    # Shadows live on the floor only.
    y = (np.arange(height, dtype=np.float32) + 0.5)[:, None]
    total *= (y >= horizon * height).astype(np.float32)
    return np.clip(total, 0.0, 0.85).astype(np.float32)


def decontaminate(image: F, alpha: F) -> F:
    """The subject's colours at its soft edges without the old background bleeding through.

    Where 0 < alpha < 1 the observed colour is alpha·F + (1 - alpha)·B; B is estimated by
    spreading the nearby background, F solved from it and pulled towards the nearby subject.
    """
    edge = (alpha > 0.02) & (alpha < 0.98)
    if not edge.any():
        return image
    height, width = alpha.shape
    radius = max(2.0, 0.01 * max(width, height))
    weights_bg = (alpha < 0.1).astype(np.float32)
    weights_fg = (alpha > 0.9).astype(np.float32)
    background = _spread(image, weights_bg, radius)
    foreground = _spread(image, weights_fg, radius)
    a = alpha[edge][:, None]
    solved = (image[edge] - (1 - a) * background[edge]) / np.maximum(a, 0.05)
    solved = np.clip(solved, 0, 1)
    trust = np.clip((a - 0.15) / 0.5, 0, 1)
    result = image.copy()
    result[edge] = solved * trust + foreground[edge] * (1 - trust)
    return result


def _spread(image: F, weights: F, radius: float) -> F:
    """A normalised blur: the weighted pixels' colours carried into their neighbourhood."""
    numerator = _blur_f(image * weights[..., None], radius)
    denominator = _blur_f(weights[..., None].repeat(3, axis=2), radius)
    result: F = (numerator / np.maximum(denominator, 1e-4)).astype(np.float32)
    return result


def _blur_f(values: F, radius: float) -> F:
    """Full-precision blur per channel: edge weights are small, 8 bits are not enough."""
    channels = [blur(np.ascontiguousarray(values[..., c]), radius) for c in range(values.shape[2])]
    result: F = np.stack(channels, axis=2).astype(np.float32)
    return result


def light_wrap(subject: F, alpha: F, background: F, light: Light) -> F:
    """The backdrop's light spilling over the subject's edges, as lenses and bounce light do:
    strongest on the edge that faces the key light, in the colour of the scene behind it."""
    width = alpha.shape[1]
    outside = blur(1.0 - alpha, max(1.0, width * 0.004))
    rim = np.clip(outside * 2.0, 0, 1) * alpha
    # The edge's outward direction: where the matte falls off. Its horizontal part, against
    # the light's side, says whether the edge faces the key light.
    facing = np.zeros_like(alpha)
    if min(alpha.shape) >= 3:
        soft = blur(alpha, max(1.0, width * 0.004))
        gy, gx = np.gradient(soft)
        norm = np.sqrt(gx * gx + gy * gy) + 1e-6
        facing = np.clip(-gx / norm * np.sign(light.direction or 1.0), -1.0, 1.0)
    glow = blur(background, max(1.0, width * 0.006))
    strength = 0.25 + 0.25 * light.brightness
    amount = (rim * strength * (0.75 + 0.5 * facing))[..., None]
    result: F = (subject * (1 - amount) + np.maximum(subject, glow) * amount).astype(np.float32)
    return result


def harmonise(subject: F, alpha: F, background: F, light: Light) -> F:
    """The subject under the scene's light: its colour balance shifted towards the light's
    colour temperature and its exposure towards the scene's (a daylight-lit product on a night
    street is dimmed a little). Bounded, so the subject's own pixels move by a few levels."""
    weights = 1.0 - alpha
    total = float(weights.sum())
    if total < 1.0:
        return subject
    mean = (background * weights[..., None]).sum(axis=(0, 1)) / total
    balance = mean / max(float(mean.mean()), 1e-3)
    target = (balance * 0.5 + key_color(light) * 0.5).astype(np.float32)
    target = target / max(float(target.mean()), 1e-3)
    inside = alpha > 0.5
    own = float(subject[inside].mean()) if inside.any() else 0.5
    exposure = (max(float(mean.mean()), 0.02) / max(own, 0.02)) ** 0.08
    gain = (1.0 + (target - 1.0) * 0.15) * exposure
    gain = np.clip(gain, 0.97, 1.03).astype(np.float32)
    result: F = np.clip(subject * gain, 0, 1).astype(np.float32)
    return result
