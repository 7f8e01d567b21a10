"""Baseline liquid-segmentation models (Schenck & Fox 2016/2018): CNN, MultiFrameCNN, LSTMCNN.

All map frames (B, T, C, H, W) to logits (B, T, K, H, W) (K = ``out_channels``, 1 by
default). Build by name with ``build_model("cnn" | "multiframe" | "lstm", **kwargs)``;
``model_from_config(model.config)`` rebuilds a model (checkpoints use this).
"""

from pourbench.baselines.base import ModelOutput, SegmentationModel
from pourbench.baselines.cnn import CNN
from pourbench.baselines.lstm import LSTMCNN
from pourbench.baselines.multiframe import MultiFrameCNN
from pourbench.baselines.registry import MODELS, build_model, model_from_config, register

__all__ = [
    "CNN",
    "LSTMCNN",
    "MODELS",
    "ModelOutput",
    "MultiFrameCNN",
    "SegmentationModel",
    "build_model",
    "model_from_config",
    "register",
]
