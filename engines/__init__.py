"""ONNX export, TensorRT engines and the backends that run them (installed as ``rtstyle_engines``)."""
