"""One interface over encoder files: ``.keras``, ``.tflite``, ``.onnx``, SavedModel.

``load_encoder(path).predict(images)`` takes ``[B, S, S, 3]`` RGB float
0..255 and returns FaceParams ``[B, P]`` float32, whatever the format.
"""

from __future__ import annotations

import os
from typing import Tuple

import numpy as np

from tfface.errors import ModelFileError, TfFaceError


class EncoderRuntime:
    """Base: ``predict``, ``input_size`` and the file's ``input_shape`` /
    ``output_shape`` (``None`` for a free batch size)."""

    input_size: int
    input_shape: Tuple
    output_shape: Tuple

    def predict(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class KerasEncoder(EncoderRuntime):
    def __init__(self, path: str) -> None:
        import keras
        import tfface.encoder_layers  # noqa: F401  registers the encoder's layers
        self.model = keras.saving.load_model(path, compile=False)
        self.input_shape = tuple(self.model.input_shape)
        self.output_shape = tuple(self.model.output_shape)
        _check_signature(path, self.input_shape, self.output_shape)
        self.input_size = int(self.model.input_shape[1])

    @classmethod
    def from_model(cls, model) -> "KerasEncoder":
        """Wrap an in-memory encoder ``keras.Model``."""
        runtime = cls.__new__(cls)
        runtime.model, runtime.input_size = model, int(model.input_shape[1])
        return runtime

    def predict(self, images, batch: int = 64):
        # predict_on_batch: no per-call tf.data pipeline (predict's costs ~50 ms a call)
        images = np.asarray(images, np.float32)
        return np.concatenate([np.asarray(self.model.predict_on_batch(images[i:i + batch]))
                               for i in range(0, len(images), batch)])


class TFLiteEncoder(EncoderRuntime):
    """LiteRT (``ai-edge-litert``) interpreter; int8 inputs/outputs are (de)quantized."""

    def __init__(self, path: str, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter
        self.interpreter = Interpreter(model_path=path, num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.input_shape = tuple(int(d) for d in self.input["shape"])
        self.output_shape = tuple(int(d) for d in self.output["shape"])
        _check_signature(path, self.input_shape, self.output_shape)
        self.input_size = int(self.input["shape"][1])

    @staticmethod
    def _quantization(detail) -> Tuple[float, int]:
        scale, zero = detail["quantization"]
        return float(scale), int(zero)

    def predict(self, images):
        out = []
        for image in np.asarray(images, np.float32):
            x = image[None]
            if self.input["dtype"] != np.float32:
                scale, zero = self._quantization(self.input)
                info = np.iinfo(self.input["dtype"])
                x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(self.input["dtype"])
            self.interpreter.set_tensor(self.input["index"], x)
            self.interpreter.invoke()
            y = self.interpreter.get_tensor(self.output["index"])
            if self.output["dtype"] != np.float32:
                scale, zero = self._quantization(self.output)
                y = (y.astype(np.float32) - zero) * scale
            out.append(y[0])
        return np.stack(out).astype(np.float32)


class OnnxEncoder(EncoderRuntime):
    def __init__(self, path: str) -> None:
        import onnxruntime
        self.session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        self.name = self.session.get_inputs()[0].name
        self.input_shape = tuple(d if isinstance(d, int) else None
                                 for d in self.session.get_inputs()[0].shape)
        self.output_shape = tuple(d if isinstance(d, int) else None
                                  for d in self.session.get_outputs()[0].shape)
        _check_signature(path, self.input_shape, self.output_shape)
        self.input_size = int(self.session.get_inputs()[0].shape[1])

    def predict(self, images):
        return self.session.run(None, {self.name: np.asarray(images, np.float32)})[0]


class SavedModelEncoder(EncoderRuntime):
    def __init__(self, path: str) -> None:
        import tensorflow as tf
        self.module = tf.saved_model.load(path)
        self.function = self.module.signatures["serving_default"]
        spec = list(self.function.structured_input_signature[1].values())[0]
        output = list(self.function.structured_outputs.values())[0]
        self.input_shape, self.output_shape = tuple(spec.shape), tuple(output.shape)
        _check_signature(path, self.input_shape, self.output_shape)
        self.input_size = int(spec.shape[1])

    def predict(self, images):
        import tensorflow as tf
        out = self.function(tf.constant(np.asarray(images, np.float32)))
        return np.asarray(list(out.values())[0])


MIN_INPUT_SIZE = 16
"""Smallest crop side an image encoder can take (pixels)."""


def _check_signature(path: str, input_shape: Tuple, output_shape: Tuple) -> None:
    """Refuse a model file that is not an image encoder: its input must be
    ``[B, S, S, 3]`` with ``S >= MIN_INPUT_SIZE`` and its output ``[B, P]``."""
    def text(shape) -> str:
        return "[" + ", ".join("B" if d is None else str(d) for d in shape) + "]"
    image = (len(input_shape) == 4 and input_shape[3] == 3 and input_shape[1] == input_shape[2]
             and isinstance(input_shape[1], int) and input_shape[1] >= MIN_INPUT_SIZE)
    params = len(output_shape) == 2 and isinstance(output_shape[1], int)
    if not (image and params):
        raise ModelFileError(f"{path}: not a tfface image encoder (takes {text(input_shape)}, "
                             f"gives {text(output_shape)}; an encoder takes [B, S, S, 3] crops "
                             "and gives [B, P] params); give an encoder .keras, .tflite or .onnx")


def load_encoder(path: str) -> EncoderRuntime:
    """Open an encoder by its extension (a folder is a SavedModel)."""
    if not os.path.exists(path):
        raise TfFaceError(f"{path}: no such encoder file; give a .keras, .tflite, .onnx or "
                          "SavedModel folder")
    if os.path.isdir(path):
        return SavedModelEncoder(path)
    ext = os.path.splitext(path)[1].lower()
    loaders = {".keras": KerasEncoder, ".tflite": TFLiteEncoder, ".onnx": OnnxEncoder}
    if ext not in loaders:
        raise TfFaceError(f"{path}: unknown encoder format '{ext}'; use .keras, .tflite, .onnx")
    try:
        return loaders[ext](path)
    except TfFaceError:
        raise
    except Exception as error:  # each runtime raises its own types for corrupt files
        remedy = ("re-run the training run that wrote it (it resumes and writes encoder.keras "
                  "again)" if ext == ".keras" else "re-export it with `tfface export`")
        raise ModelFileError(f"{path}: cannot load encoder ({type(error).__name__}); "
                             f"{remedy}") from None
