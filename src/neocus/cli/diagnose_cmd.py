"""``neocus diagnose CASE_DIR_OR_VIEW_PNGS --out DIR``: severe / non-severe call, Papile grade, read-outs,
the ensemble rule's trace and per-view heatmaps of one case."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from neocus.atomic import atomic_dir, check_output_dir
from neocus.cli.app import app, console, err_console
from neocus.errors import parse_choice


@app.command("diagnose")
def diagnose_cmd(
    inputs: list[Path] = typer.Argument(..., help="A case folder (views/<VIEW>.png or <VIEW>.png inside) or view image files."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for diagnosis.json and heatmap overlays."),
    model: Path | None = typer.Option(None, "--model", help="Model bundle folder (default: the bundled models/diagnosis)."),
    tta: str | None = typer.Option(None, "--tta", help="Override the bundle's test-time augmentation: none or flip."),
    fold: list[int] = typer.Option([], "--fold", help="Use only these folds (repeatable; default all)."),
    heatmap: str = typer.Option("finer-cam", "--heatmap", help="finer-cam, grad-cam or none."),
    roi: bool = typer.Option(False, "--roi/--no-roi", help="Crop screen captures to the imaging region first (real scanner stills)."),
    force: bool = typer.Option(False, "--force", help="Replace --out if it holds an earlier diagnosis."),
) -> None:
    """Diagnose one case from its standard-view stills."""
    from neocus.diagnose.bundle import load_bundle
    from neocus.diagnose.data import CaseExample
    from neocus.diagnose.infer import diagnose_case, load_case_images
    from neocus.explain import CamMethod, case_heatmaps, write_overlay

    if heatmap != "none":
        heatmap = parse_choice(CamMethod, heatmap, what="heatmap")
    check_output_dir(out, force=force, marker="diagnosis.json", kind="an earlier diagnosis")
    with err_console.status("loading the model", spinner="dots"):
        bundle = load_bundle(model)
        if fold:
            bundle = bundle.select_folds(fold)
    case_id, views = load_case_images(inputs, size_hw=bundle.config.model.image_size_hw, roi=roi)
    with err_console.status(f"diagnosing {len(views)} views", spinner="dots"):
        result = diagnose_case(bundle, CaseExample(case_id, views), tta=tta)
        maps = case_heatmaps(bundle.models[0], views, method=heatmap) if heatmap != "none" else {}
    with atomic_dir(out) as tmp:
        files = {}
        for v, hm in maps.items():
            name = f"heatmap_{v.value}_{hm.target.value}.png"
            write_overlay(tmp / name, views[v].image, hm.heatmap)
            files[v.value] = {"file": name, "target": hm.target.value, "method": hm.method.value,
                              "contrast": [c.value for c in hm.contrast], "peak_xy": list(hm.peak_xy)}
        doc = {**result.to_dict(), "heatmaps": files, "model": str(bundle.root),
               "note": "research software trained on phantom images; not a clinical device"}
        (tmp / "diagnosis.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    console.print(
        f"{escape(case_id)}: [bold]{result.decision.value}[/] (p severe {result.severe_prob:.3f}; {result.trace.reason}); "
        f"Papile grade {result.grade}; tier {result.readout.tier.value if result.readout.tier else '-'}", highlight=False,
    )
    console.print(f"wrote {escape(str(out))}", highlight=False)
