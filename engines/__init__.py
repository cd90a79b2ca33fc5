"""ONNX export and TensorRT engines (installed as ``rtstyle_engines``)."""
