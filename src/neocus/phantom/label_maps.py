"""Pictures of a phantom subject's ground truth: structure label maps on the six standard-view planes.

``label_map_figure(subject, path)`` writes a PNG with, for each standard view, the mean echo
(log scale, left) and the vocabulary structures of the plane (colours, right) with lesion outlines
in red - the quickest way to check that the anatomy is recognisable and the labels sit where they
should. Coordinates: image x across (mm), depth down (mm), as the renderer shows them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neocus.phantom.standard_views import standard_views
from neocus.phantom.subject import Subject
from neocus.vocab import VIEW_PLANE, Structure, View

_STRUCTURES = list(Structure)


def structure_map(
    subject: Subject, view: View, *, width_mm: float = 100.0, depth_mm: float = 90.0, px: int = 300,
):
    """(echo, structure index + 1 or 0, lesion) images of ``view``'s ideal plane, ``px`` wide."""
    sv = standard_views(subject.head)[view]
    h = int(px * depth_mm / width_mm)
    x = np.linspace(-width_mm / 2, width_mm / 2, px)
    d = np.linspace(0.0, depth_mm, h)
    gx, gd = np.meshgrid(x, d)
    ts = subject.head.sample(sv.plane.points(gx, gd).reshape(-1, 3))
    kind = VIEW_PLANE[view].value
    lut = np.zeros(256, dtype=np.int16)
    for p in np.unique(ts.part):
        st = subject.head.part_structure(int(p), kind)
        lut[p] = 0 if st is None else _STRUCTURES.index(st) + 1
    return ts.echo.reshape(h, px), lut[ts.part].reshape(h, px), ts.lesion.reshape(h, px)


def label_map_figure(subject: Subject, path: str | Path, *, title: str | None = None) -> Path:
    """Write the six-view echo / structure-label picture of ``subject`` to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from neocus.atomic import atomic_target

    path = Path(path)
    cmap = ListedColormap(["#000000", *plt.get_cmap("tab20").colors[: len(_STRUCTURES)]])
    fig, axs = plt.subplots(3, 4, figsize=(16, 11))
    ext = [-50, 50, 90, 0]
    for k, view in enumerate(View):
        echo, lab, les = structure_map(subject, view)
        ax_e, ax_l = axs.flat[2 * k], axs.flat[2 * k + 1]
        ax_e.imshow(np.log(echo + 0.05), cmap="gray", extent=ext)
        ax_l.imshow(lab, cmap=cmap, vmin=0, vmax=len(_STRUCTURES), interpolation="nearest", extent=ext)
        for ax in (ax_e, ax_l):
            if les.any():
                ax.contour(np.linspace(-50, 50, les.shape[1]), np.linspace(0, 90, les.shape[0]), les > 0, levels=[0.5], colors="r", linewidths=0.7)
            ax.set_title(view.value, fontsize=10)
            ax.tick_params(labelsize=7)
    handles = [Patch(color=cmap(i + 1), label=s.value) for i, s in enumerate(_STRUCTURES)]
    fig.legend(handles=handles, loc="lower center", ncol=6, fontsize=8)
    lab = subject.labels()
    fig.suptitle(
        title
        or f"{lab['case_type']}, GA {lab['ga_weeks']} wk: IVH grade {lab['ivh_grade']}, findings {', '.join(lab['findings'])}, severe={lab['severe']}",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0.07, 1, 0.97))
    try:
        with atomic_target(path) as tmp:
            fig.savefig(tmp, dpi=70)
    finally:
        plt.close(fig)
    return path
