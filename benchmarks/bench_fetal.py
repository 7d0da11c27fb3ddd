"""Speed of ``fetal measure`` on one 800x540 image after the model is loaded (goal: <= 0.5 s on the
2-core CPU).

Usage: python benchmarks/bench_fetal.py [--image PNG] [--model DIR] [--threads 1] [--repeats 20] [--flip-tta]
       [--plane trans_cerebellar [--fossa-model DIR] [--no-zoom] [--hypoplasia [--hypoplasia-model DIR]]] [--recognise [--plane-model DIR]]

Times, per call and after 3 warm-up calls: the whole measurement (``measure_fetal_head``: network with
left-right flip averaging, mask, ellipse fit, HC / BPD / OFD, centiles) and, apart, the network
probability alone and the overlay drawing. Prints median, best and worst. Model loading and imports are
timed once and not counted in the per-call figures. Default image: ../shared/data/real/fetal/hc18/
images/005_HC.png (800x540), default model: the bundled models/fetal/skull. With ``--plane
trans_cerebellar`` the measurement also runs the posterior-fossa model (default: the bundled
models/fetal/cerebellum, with the bundled zoom stage models/fetal/cerebellum_zoom when it is there;
``--no-zoom``: the first stage alone) for TCD and cisterna magna depth, and that model's cascade is timed apart.
With ``--recognise`` (no ``--plane``) the plane model (default: the bundled models/fetal/plane)
recognises the plane as ``fetal measure`` does without ``--plane``; the posterior-fossa model is loaded
and runs when the plane recognised is trans-cerebellar; plane recognition is timed apart. With
``--hypoplasia`` the cerebellar hypoplasia call (default: the bundled models/fetal/hypoplasia: classifier,
fused score, Grad-CAM heatmap) runs too, as in ``fetal measure``, and is timed apart.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

DEFAULT_IMAGE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "fetal" / "hc18" / "images" / "005_HC.png"


def _times(fn, repeats: int) -> list[float]:
    for _ in range(3):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _show(name: str, t: list[float]) -> None:
    print(f"{name:28s} median {1000 * statistics.median(t):7.1f} ms   best {1000 * min(t):7.1f} ms   worst {1000 * max(t):7.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--flip-tta", action="store_true", help="also average with the mirrored image (as fetal measure --flip-tta)")
    ap.add_argument("--plane", default=None, help="trans_cerebellar: also TCD and cisterna magna depth (as fetal measure --plane)")
    ap.add_argument("--fossa-model", type=Path, default=None)
    ap.add_argument("--no-zoom", action="store_true", help="the posterior-fossa first stage alone (no zoom stage)")
    ap.add_argument("--recognise", action="store_true", help="recognise the plane with the plane model (as fetal measure without --plane)")
    ap.add_argument("--plane-model", type=Path, default=None)
    ap.add_argument("--hypoplasia", action="store_true", help="also the hypoplasia call (as fetal measure with --ga on a trans-cerebellar plane)")
    ap.add_argument("--hypoplasia-model", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    from neocus.fetal.measure import draw_overlay, measure_fetal_head, read_fetal_image
    from neocus.fetal.cerebellum import default_cerebellum_dir, load_cerebellum_model, predict_posterior_fossa
    from neocus.fetal.skull_model import load_skull_model, predict_skull_probability

    model = load_skull_model(args.model)
    from neocus.fetal.plane_model import load_plane_model, predict_planes

    fossa = load_cerebellum_model(args.fossa_model or default_cerebellum_dir(), zoom=not args.no_zoom) if args.plane or args.recognise else None
    if fossa is not None:
        print(f"posterior-fossa zoom stage: {fossa.zoom.path if fossa.zoom is not None else 'none'}")
    planes = load_plane_model(args.plane_model) if args.recognise else None
    kw = {"plane": args.plane, "fossa_model": fossa, "plane_model": planes}
    if args.hypoplasia:
        from neocus.fetal.hypoplasia_measure import load_hypoplasia_bundle

        kw["hypoplasia_model"] = load_hypoplasia_bundle(args.hypoplasia_model)
    print(f"imports + model load: {time.perf_counter() - t0:.2f} s (not counted below); torch threads {args.threads}")
    image = read_fetal_image(args.image)
    print(f"image {args.image.name}: {image.grey.shape[1]}x{image.grey.shape[0]}")
    result, _ = measure_fetal_head(image, model, ga_weeks=20, pixel_mm=0.1158, **kw)
    if planes is not None:
        print(f"plane recognised: {result.plane} (probabilities {', '.join(f'{k} {v:.2f}' for k, v in result.plane_probabilities.items())})")
    _show("fetal measure (whole)", _times(lambda: measure_fetal_head(image, model, ga_weeks=20, pixel_mm=0.1158, flip_tta=args.flip_tta, **kw),
                                          args.repeats))
    if fossa is not None:
        _show("posterior-fossa cascade", _times(lambda: predict_posterior_fossa(image.grey, fossa), args.repeats))
    if kw.get("hypoplasia_model") is not None and result.hypoplasia is not None:
        from neocus.fetal.hypoplasia_measure import assess_hypoplasia

        box = (result.ellipse.center_xy[0] - result.ellipse.semi_major_px, result.ellipse.center_xy[1] - result.ellipse.semi_major_px,
               2 * result.ellipse.semi_major_px, 2 * result.ellipse.semi_major_px)
        _show("hypoplasia call only", _times(lambda: assess_hypoplasia(image.grey, kw["hypoplasia_model"], ga_weeks=20, pixel_mm=0.1158,
                                                                       head_box_xywh=box, centiles=result.centiles, reasons=result.reasons),
                                             args.repeats))
    if planes is not None:
        _show("plane recognition only", _times(lambda: predict_planes([image.grey], planes), args.repeats))
    _show("network probability only", _times(lambda: predict_skull_probability(image.grey, model, flip_tta=args.flip_tta), args.repeats))
    _show("overlay drawing", _times(lambda: draw_overlay(image.grey, result), args.repeats))


if __name__ == "__main__":
    main()
