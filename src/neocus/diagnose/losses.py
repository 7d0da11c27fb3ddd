"""Losses of the diagnosis model (pure functions on tensors, like MONAI's losses).

* image findings: binary cross-entropy over the present views and known labels;
* case head: class-balanced cross-entropy with the effective number of samples (Cui et al., CVPR 2019):
  weight of class c = (1 - beta) / (1 - beta ** n_c), normalised to mean 1;
* Papile grade: cross-entropy, or an ordinal loss on cumulative logits P(grade > k) (CORAL-style);
* RegMixup (Pinto et al., NeurIPS 2022): the clean loss plus ``eta`` times the loss on a mixup of the
  batch with a permutation of itself, lambda ~ Beta(alpha, alpha). Soft targets carry the mixing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from neocus.diagnose.config import N_GRADES


def image_bce(image_logits: torch.Tensor, targets: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Mean BCE over present views with known labels (targets -1 = unknown; soft targets allowed)."""
    known = present.unsqueeze(-1) & (targets >= 0)
    if not bool(known.any()):
        return image_logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(image_logits[known], targets[known])


def effective_number_weights(counts: Sequence[int], *, beta: float = 0.999) -> torch.Tensor:
    """Class weights (1 - beta) / (1 - beta^n_c), normalised so their mean is 1 (n_c 0 counts as 1)."""
    n = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    w = (1.0 - beta) / (1.0 - np.power(beta, n))
    return torch.tensor(w / w.mean(), dtype=torch.float32)


def soft_cross_entropy(logits: torch.Tensor, target_probs: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy against probability targets; ``weights`` per class (class-balanced), mean over rows
    normalised by the rows' weights like ``F.cross_entropy``."""
    logp = torch.log_softmax(logits, dim=-1)
    if weights is None:
        return -(target_probs * logp).sum(-1).mean()
    w = weights.to(logits)
    per_row = -(target_probs * w * logp).sum(-1)
    return per_row.sum() / (target_probs * w).sum().clamp_min(1e-8)


def one_hot(labels: torch.Tensor, n: int) -> torch.Tensor:
    return F.one_hot(labels.clamp_min(0), n).float()


def case_loss(case_logits: torch.Tensor, target_probs: torch.Tensor, *, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Class-balanced CE of the case head on probability targets [B, 2]."""
    return soft_cross_entropy(case_logits, target_probs, weights)


def ordinal_targets(grade_probs: torch.Tensor) -> torch.Tensor:
    """P(grade > k), k = 0..3, from grade probabilities [B, 5]."""
    return 1.0 - torch.cumsum(grade_probs, dim=-1)[:, :-1]


def grade_loss(grade_logits: torch.Tensor, target_probs: torch.Tensor) -> torch.Tensor:
    """CE (logits [B, 5]) or ordinal BCE on cumulative logits (logits [B, 4]); targets are grade probabilities."""
    if grade_logits.shape[-1] == N_GRADES:
        return soft_cross_entropy(grade_logits, target_probs)
    return F.binary_cross_entropy_with_logits(grade_logits, ordinal_targets(target_probs))


def mix_batch(images: torch.Tensor, views: torch.Tensor, present: torch.Tensor, lam: float, perm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Images mixed slot by slot with case ``perm[i]``: only where both cases hold the same view;
    returns the mixed images and the [B, V] mask of mixed slots."""
    mixable = present & present[perm] & (views == views[perm])
    m = mixable.float().reshape(*mixable.shape, 1, 1, 1)
    lam_slot = lam * m + (1.0 - m)
    return lam_slot * images + (1.0 - lam_slot) * images[perm], mixable


def mix_targets(a: torch.Tensor, perm: torch.Tensor, lam: float) -> torch.Tensor:
    return lam * a + (1.0 - lam) * a[perm]
