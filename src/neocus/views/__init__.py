"""Stage 1b: the six standard views from per-frame detections (frame scores -> DBSCAN on (frame, score)
-> sweep direction -> best frame per view), with missing views and the `unsuitable` decision.

    from neocus.views import SweepDetections, extract_views, classify_still
    exam = extract_views([SweepDetections("coronal.mp4", detector.detect_sweep(sweep), n_frames=len(sweep.frames), fps=sweep.fps)])

See docs/views.md.
"""

from neocus.views.config import DEFAULT_CONFIG, ORACLE_CONFIG, Selection, ViewsConfig, ViewWeights, load_config
from neocus.views.extract import (
    NO_BRAIN, ExamViews, StillView, SweepDetections, SweepViews, classify_still, exam_views, extract_views, sweep_views,
)
from neocus.views.oracle import Degradation, degrade, truth_from_annotations, truth_from_frames
from neocus.views.score import frame_features, score_frames
from neocus.views.select import Cluster, Segment, ViewChoice

__all__ = [
    "DEFAULT_CONFIG", "NO_BRAIN", "ORACLE_CONFIG", "Cluster", "Degradation", "ExamViews", "Segment", "Selection", "StillView",
    "SweepDetections", "SweepViews", "ViewChoice", "ViewWeights", "ViewsConfig", "classify_still", "degrade",
    "exam_views", "extract_views", "frame_features", "load_config", "score_frames", "sweep_views",
    "truth_from_annotations", "truth_from_frames",
]
