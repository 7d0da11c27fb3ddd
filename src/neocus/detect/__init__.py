"""Stage 1a: rotated boxes of anatomical structures in every frame (an RT-DETR-family detector).

Modules: ``config`` (configs are files), ``model`` (+ ``encoder``, ``decoder``), ``criterion``
(matching and losses), ``data`` (phantom recipe, datasets, augmentation), ``train``, ``evaluate``
(rotated mAP), ``infer`` (the Python API over frames and sweeps), ``export`` (ONNX).
"""
