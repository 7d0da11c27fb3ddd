"""Why the diagnosis model says what it says: class activation maps (Grad-CAM, Finer-CAM) per view,
overlays, and how often the map's peak falls inside the lesion on the phantom."""

from neocus.explain.cam import CamMethod, HitRate, ViewHeatmap, case_heatmaps, hit_rate, overlay, similar_findings, write_overlay

__all__ = ["CamMethod", "HitRate", "ViewHeatmap", "case_heatmaps", "hit_rate", "overlay", "similar_findings", "write_overlay"]
