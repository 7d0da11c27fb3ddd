"""Painters of the neonatal head model: a primitive's paint function with its bounding box, the output
buffers it paints into, and the helpers that make painters of ellipsoids, tubes and superellipsoids
(used by :mod:`neocus.phantom.anatomy_deep` and :mod:`neocus.phantom.anatomy`).

A builder returns :data:`Placement` s (a painter and the painter it goes before); :func:`place` puts
them into painting order (later wins).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from neocus.phantom.parts import Part
from neocus.phantom.primitives import F32, CullGrid, Ellipsoid, Tube, lut
from neocus.phantom.tissues import Tissue


U8 = np.uint8
_PF_LUT = lut([Tissue.CEREBELLUM, Tissue.FALX, Tissue.CSF])


@dataclass
class _Painter:
    name: str
    lo: np.ndarray
    hi: np.ndarray
    paint: Callable[[np.ndarray, np.ndarray, _Out], None]
    occ: np.ndarray = field(default=None)  # type: ignore[assignment]
    #: the cells (of a cull grid) it can paint, when finer than its box (a tube's): ``cells(cull)``
    cells: Callable[[CullGrid], np.ndarray] | None = None

    def occupancy(self, cull: CullGrid) -> np.ndarray:
        """The flat cells of ``cull`` where this painter can change a point."""
        return cull.mask(self.lo, self.hi) if self.cells is None else self.cells(cull)


@dataclass
class _Out:
    tissue: np.ndarray
    part: np.ndarray
    mod: np.ndarray  # multiplicative echo texture
    lesion: np.ndarray



def shifted_tube(tube: Tube, dx: float) -> Tube:
    """A tube moved sideways by ``dx`` mm (implemented by shifting points at evaluation)."""
    return _ShiftedTube(tube, dx)  # type: ignore[return-value]


class _ShiftedTube:
    def __init__(self, tube: Tube, dx: float) -> None:
        self._t = tube
        self._dx = F32(dx)
        self.lo = tube.lo + [dx, 0, 0]
        self.hi = tube.hi + [dx, 0, 0]

    def __getattr__(self, name: str) -> object:
        return getattr(self._t, name)

    def at(self, t: float) -> dict[str, float]:
        c = self._t.at(t)
        c["x"] += float(self._dx)
        return c

    def eval(self, p: np.ndarray) -> dict[str, np.ndarray]:
        return self._t.eval(p - np.array([self._dx, 0, 0], dtype=F32))

    def lateral_cells(self, cull: CullGrid, lo: np.ndarray, hi: np.ndarray, *, shift_x: float = 0.0) -> np.ndarray:
        return self._t.lateral_cells(cull, lo, hi, shift_x=shift_x + float(self._dx))


#: a painter and the name of the painter it is placed before (None: after all others)
Placement = tuple[_Painter, "str | None"]


def painter(
    name: str, lo: np.ndarray, hi: np.ndarray, paint: Callable[[np.ndarray, np.ndarray, _Out], None], *, tube: Tube | None = None, shift_x: float = 0.0
) -> Placement:
    """A painter placed after all others (its box as float arrays); one that paints only points inside
    ``tube`` (evaluated at ``p - (shift_x, 0, 0)``) is culled to the cells the tube can reach."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    cells = None if tube is None else (lambda cull: tube.lateral_cells(cull, lo, hi, shift_x=shift_x))
    return _Painter(name, lo, hi, paint, cells=cells), None


def place(painters: Sequence[_Painter], placements: Iterable[Placement]) -> list[_Painter]:
    """``painters`` with each placement inserted in turn before its named painter (at the end when
    it names none, or one not there yet); painting order is list order, later wins."""
    out = list(painters)
    for new, before in placements:
        names = [q.name for q in out]
        i = names.index(before) if before is not None and before in names else len(names)
        out.insert(i, new)
    return out


def ellipsoid_painter(
    name: str, e: Ellipsoid, tissue: Tissue, part: Part, *, mod: float = 1.0, only_pf: bool = False, before: str | None = None
) -> Placement:
    """Paint ``tissue`` / ``part`` inside ellipsoid ``e`` (echo texture ``mod``; only over posterior-fossa
    tissue with ``only_pf``), placed before the painter named ``before``."""

    def paint(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
        inside = e.q(pts) < 1
        if only_pf:
            inside &= _PF_LUT[out.tissue[idx]]
        sel = idx[inside]
        out.tissue[sel] = tissue
        out.part[sel] = part
        if mod != 1.0:
            out.mod[sel] = F32(mod)

    return _Painter(name, e.lo, e.hi, paint), before


def tube_painter(
    name: str, tube: Tube, part_of_t: Callable[[np.ndarray], np.ndarray], tissue: Tissue, *, shift_x: float = 0.0, before: str | None = None
) -> Placement:
    """Paint ``tissue`` inside ``tube`` (moved sideways by ``shift_x`` mm), the part a function of the
    tube's parameter ``t``."""
    sx = F32(shift_x)

    def paint(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
        if sx:
            pts = pts - np.array([sx, 0, 0], dtype=F32)
        r = tube.eval(pts)
        inside = r["q"] < 1
        sel = idx[inside]
        out.tissue[sel] = tissue
        out.part[sel] = part_of_t(r["t"][inside])

    lo, hi = tube.lo.copy(), tube.hi.copy()
    lo[0] += shift_x
    hi[0] += shift_x
    return _Painter(name, lo, hi, paint, cells=lambda cull: tube.lateral_cells(cull, lo, hi, shift_x=shift_x)), before


def superellipsoid_painter(name: str, c: np.ndarray, r: np.ndarray, n: float, tissue: Tissue, part: Part) -> Placement:
    """Paint ``tissue`` / ``part`` inside the superellipsoid of centre ``c``, half-axes ``r`` and exponent ``n``."""
    cf, rf = c.astype(F32), r.astype(F32)

    def paint(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
        q = (np.abs((pts - cf) / rf) ** n).sum(axis=1)
        sel = idx[q < 1]
        out.tissue[sel] = tissue
        out.part[sel] = part

    return painter(name, c - r, c + r, paint)
