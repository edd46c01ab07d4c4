"""OpenVINO IR (XML graph + BIN weights) -> the ONNX files the edge runs, with a proof of the result."""
