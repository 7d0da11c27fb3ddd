"""One case's output folder, written atomically (:func:`neocus.atomic.atomic_dir`: the folder appears
only when complete, so a killed batch never leaves a half case behind)::

    OUT/result.json            the result (schema: docs/screen.md)
    OUT/report.html            self-contained report
    OUT/views/<VIEW>.png       chosen frame of each view (ROI crop, on a black square)
    OUT/heatmaps/<VIEW>.png    heatmap overlay of each diagnosed view
    OUT/sweeps/input_<k>.png   view scores over the frames of each sweep
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from neocus.atomic import atomic_dir, check_output_dir
from neocus.screen.report import report_html
from neocus.screen.result import ScreenResult, result_json

RESULT_FILE = "result.json"


def case_files(result: ScreenResult) -> tuple[ScreenResult, dict[str, bytes]]:
    """Every file of a case folder (relative path -> bytes); the result gains the time it took."""
    from neocus.views.output import png_bytes, sweep_plot_png

    start = time.perf_counter()
    files: dict[str, bytes] = {}
    for v in result.views.values():
        if v.image is not None and v.picture is not None:
            files[v.image] = png_bytes(v.picture)
        if v.heatmap is not None and v.overlay is not None:
            files[v.heatmap] = png_bytes(v.overlay)
    plots = {}
    if result.exam is not None:
        for s in result.exam.sweeps:
            plots[s.sweep] = files[result.sweep_plots[s.sweep]] = sweep_plot_png(s)
    html = report_html(result, sweep_plots=plots)
    timings = {**result.timings_s, "write": time.perf_counter() - start}
    result = replace(result, timings_s=timings)
    files["report.html"] = html.encode("utf-8")
    files[RESULT_FILE] = result_json(result).encode("utf-8")
    return result, files


def write_case(result: ScreenResult, out: str | Path, *, force: bool = False) -> ScreenResult:
    """Write ``result`` as the folder ``out`` (new or empty; with ``force`` an earlier screen output is
    replaced, any other folder refused). Returns the result with the writing time added."""
    out = Path(out)
    check_output_dir(out, force=force, marker=RESULT_FILE, kind="an earlier neocus screen output")
    result, files = case_files(result)
    with atomic_dir(out) as tmp:
        for name, data in files.items():
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return result
