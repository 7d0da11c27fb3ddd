"""The whole pipeline for a user: sweeps (or view stills) in, the standard views, the decision, its
reasons and the evidence out (issue #12).

    from neocus.screen import screen, write_case, load_models
    result = screen(["case_dir"], models=load_models("models_dir"))   # a ScreenResult
    write_case(result, "out")                                         # result.json, PNGs, report.html

Batch runs: :func:`neocus.screen.batch.screen_batch`; whole-pipeline evaluation:
:func:`neocus.screen.evaluate.evaluate_pipeline`; the demo: :func:`neocus.screen.demo.run_demo`.
See docs/screen.md.
"""

from neocus.screen.models import ScreenModels, load_models
from neocus.screen.output import write_case
from neocus.screen.pipeline import screen
from neocus.screen.result import SCHEMA_VERSION, InputRecord, ScreenResult, ViewResult

__all__ = ["SCHEMA_VERSION", "InputRecord", "ScreenModels", "ScreenResult", "ViewResult", "load_models", "screen", "write_case"]
