"""Export the encoder alone: TFLite (fp32/fp16/dynamic/int8), ONNX, SavedModel,
each verified against the Keras encoder before it is reported written."""

FORMATS = ("tflite-fp32", "tflite-fp16", "tflite-dynamic", "tflite-int8", "onnx", "savedmodel")
