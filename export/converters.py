"""Format converters: Keras encoder -> bytes on disk (no verification here)."""

from __future__ import annotations

from typing import Iterable, Optional

import keras
import numpy as np
import tensorflow as tf

ONNX_OPSET = 17


def to_tflite(encoder: keras.Model, variant: str,
              representative: Optional[Iterable[np.ndarray]] = None,
              int8_io: bool = False) -> bytes:
    """TFLite flatbuffer for ``variant`` in fp32, fp16, dynamic, int8.

    Uses ``TFLiteConverter.from_keras_model`` (``from_concrete_functions``
    silently writes a broken model on TF 2.21).
    """
    converter = tf.lite.TFLiteConverter.from_keras_model(encoder)
    if variant != "fp32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    if variant == "int8":
        if representative is None:
            raise ValueError("int8 needs a representative dataset")
        samples = list(representative)
        converter.representative_dataset = lambda: ([s[None].astype(np.float32)] for s in samples)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if int8_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    return converter.convert()


def to_onnx(encoder: keras.Model) -> bytes:
    """ONNX model (tf2onnx, opset :data:`ONNX_OPSET`), batch dimension dynamic."""
    import tf2onnx
    spec = (tf.TensorSpec((None,) + tuple(encoder.input_shape[1:]), tf.float32, name="image"),)
    function = tf.function(lambda image: {"params": encoder(image, training=False)})
    model_proto, _ = tf2onnx.convert.from_function(function, input_signature=spec,
                                                   opset=ONNX_OPSET)
    return model_proto.SerializeToString()


def to_savedmodel(encoder: keras.Model, path: str) -> None:
    """A TF Serving SavedModel via ``model.export`` (signature ``serve``)."""
    encoder.export(path, verbose=False)

