"""ONNX export of one fold of a diagnosis bundle, and an onnxruntime runner with the torch model's
outputs (for CPU deployment and the inference benchmark)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from neocus.atomic import atomic_target
from neocus.diagnose.config import METADATA_FIELDS, VIEWS
from neocus.diagnose.model import DiagnosisNet

INPUTS = ("images", "views", "present", "metadata")
OUTPUTS = ("image_probs", "severe_prob", "grade_probs")


class _Exportable(nn.Module):
    def __init__(self, model: DiagnosisNet):
        super().__init__()
        self.model = model

    def forward(self, images, views, present, metadata):
        out = self.model(images, views, present, metadata)
        return torch.sigmoid(out.image_logits), out.severe_prob(), out.grade_probs()


def export_onnx(model: DiagnosisNet, path: str | Path, *, opset: int = 17) -> Path:
    """Write ``model`` (eval mode) as ONNX with a dynamic batch; inputs as :meth:`DiagnosisNet.forward`."""
    h, w = model.config.image_size_hw
    n = len(VIEWS)
    example = (
        torch.zeros(1, n, 1, h, w), torch.arange(n).unsqueeze(0), torch.arange(n).unsqueeze(0) < n - 2,  # some views missing: no branch on "all present" is traced
        torch.zeros(1, 2 * len(METADATA_FIELDS)),
    )
    path = Path(path)
    was_training = model.training
    try:
        with atomic_target(path, make_parents=True) as tmp:
            torch.onnx.export(
                _Exportable(model.eval()), example, str(tmp), input_names=list(INPUTS), output_names=list(OUTPUTS), opset_version=opset,
                dynamic_axes={k: {0: "batch"} for k in (*INPUTS, *OUTPUTS)}, dynamo=False,
            )
    finally:
        model.train(was_training)  # the exporter leaves the modules in training mode
    return path


class OnnxDiagnosis:
    """onnxruntime session of an exported fold; ``run`` takes the numpy form of a :class:`Batch`."""

    def __init__(self, path: str | Path, *, threads: int = 2):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}  # metadata is dropped when the model has no metadata token

    def run(self, images: np.ndarray, views: np.ndarray, present: np.ndarray, metadata: np.ndarray) -> dict[str, np.ndarray]:
        feed = {"images": images.astype(np.float32), "views": views.astype(np.int64), "present": present.astype(bool),
                "metadata": metadata.astype(np.float32)}
        return dict(zip(OUTPUTS, self.session.run(list(OUTPUTS), {k: v for k, v in feed.items() if k in self.inputs})))
