"""Grad-CAM of the cerebellar hypoplasia classifier (Selvaraju et al., ICCV 2017).

The map explains the hypoplasia logit through one encoder block (default the last, 1/32 of the input:
3x3 at 112 px, so very coarse; ``block=-2`` gives 7x7): each channel of the block's output is weighted
by the mean gradient of the logit over it, the weighted sum is rectified, brought to
the input size and scaled to [0, 1]. :func:`heatmap_overlay` draws it on the network input.
"""

from __future__ import annotations

import cv2
import numpy as np

from neocus.fetal.hypoplasia_model import HypoplasiaModel

__all__ = ["grad_cam", "heatmap_overlay"]


def grad_cam(model: HypoplasiaModel, x: np.ndarray, *, side: np.ndarray | None = None, block: int = -1) -> np.ndarray:
    """Grad-CAM ``[S, S]`` in [0, 1] of one network input ``[S, S]`` (with its side features ``[3]`` for a
    ``ga_and_scale`` model) through encoder block ``block`` (all zero when no channel pushes the logit up)."""
    import torch

    net = model.net
    net.eval()
    captured = {}
    handle = net.blocks[block].register_forward_hook(lambda _m, _i, out: captured.__setitem__("a", out))
    try:
        t = torch.from_numpy(np.ascontiguousarray(x, np.float32))[None, None].requires_grad_(True)
        logit, _ = net(t, None if side is None else torch.from_numpy(np.asarray(side, np.float32).reshape(1, -1)))
        act = captured["a"]
        grad, = torch.autograd.grad(logit.sum(), act)
    finally:
        handle.remove()
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * act).sum(dim=1))[0].detach().numpy()
    side = x.shape[-1]
    cam = cv2.resize(cam, (side, side), interpolation=cv2.INTER_CUBIC).clip(0, None)
    top = float(cam.max())
    return cam / top if top > 0 else np.zeros_like(cam)


def heatmap_overlay(x: np.ndarray, cam: np.ndarray, *, alpha: float = 0.45) -> np.ndarray:
    """BGR uint8 picture of a standardised input ``[S, S]`` with its Grad-CAM in the jet colour map."""
    g = np.asarray(x, np.float32)
    g = ((g - g.min()) / max(float(g.max() - g.min()), 1e-6) * 255).astype(np.uint8)
    colour = cv2.applyColorMap((np.clip(cam, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)
    return cv2.addWeighted(cv2.cvtColor(g, cv2.COLOR_GRAY2BGR), 1 - alpha, colour, alpha, 0)
