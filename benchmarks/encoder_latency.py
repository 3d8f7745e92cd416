"""Single-image encoder latency per export variant, next to MediaPipe's peer models.

Exports a trained encoder (``--encoder encoder.keras``; default the shipped
one, MobileNetV3-Small at 112 px; the 192 px mobile recipe's is
``configs/mobilenet_v3_192.yaml``'s ``encoder.keras``) to every TFLite variant and ONNX,
verifies each (parity), then times one image: median of ``--runs`` runs with one
thread and with all threads, plus file size. The peer models in
``../shared/peers`` are timed in the same run (skipped when absent); ratio =
tfface / peer (MediaPipe face landmark, 192 px). One JSON line at the end.

    python benchmarks/encoder_latency.py [--encoder runs/x/encoder.keras] [--runs 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

from tfface.quiet import quiet_script

quiet_script()  # before TensorFlow loads: its start-up logs off the console

import numpy as np  # noqa: E402

from tfface.export.pipeline import default_samples, export_encoder  # noqa: E402
from tfface.morphable import load_model  # noqa: E402
from tfface.params import FaceParams  # noqa: E402
from tfface.encoders import DEFAULT_ENCODERS  # noqa: E402
from tfface.runtime import load_encoder  # noqa: E402

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "peers")
PEER_MODELS = ("mediapipe_face_landmark.tflite", "mediapipe_face_landmarks_v2.tflite")


def median_ms(fn, runs: int) -> float:
    for _ in range(5):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def tflite_latency(path: str, runs: int, threads: int) -> float:
    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_path=path, num_threads=threads)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    x = np.zeros(detail["shape"], detail["dtype"])
    interpreter.set_tensor(detail["index"], x)
    return median_ms(interpreter.invoke, runs)


def onnx_latency(path: str, runs: int, threads: int, size: int) -> float:
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    x = np.zeros((1, size, size, 3), np.float32)
    name = session.get_inputs()[0].name
    return median_ms(lambda: session.run(None, {name: x}), runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default=DEFAULT_ENCODERS["ict"],
                        help="trained encoder .keras")
    parser.add_argument("--morphable-model", default="ict",
                        help="morphable model of the encoder: .npz, ict or demo")
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    model = load_model(args.morphable_model)
    layout = FaceParams.from_model(model)
    encoder = load_encoder(args.encoder).model
    size = int(encoder.input_shape[1])
    samples = default_samples(encoder, 16, model=model)
    all_threads = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for fmt in ("tflite-fp32", "tflite-fp16", "tflite-dynamic", "tflite-int8", "onnx"):
            path = os.path.join(folder, fmt + (".onnx" if fmt == "onnx" else ".tflite"))
            report = export_encoder(encoder, layout, model, fmt, path, samples, verbose=False)
            row = {"variant": fmt, "size_mb": os.path.getsize(path) / 1e6,
                   "mesh_error_pct_width": report["mesh_error_pct_width"]}
            for threads, key in ((1, "ms_1_thread"), (all_threads, "ms_all_threads")):
                row[key] = (onnx_latency(path, args.runs, threads, size) if fmt == "onnx"
                            else tflite_latency(path, args.runs, threads))
            rows.append(row)
    peers = []
    for name in PEER_MODELS:
        path = os.path.join(PEERS, name)
        if os.path.isfile(path):
            peers.append({"peer": name, "ms_1_thread": tflite_latency(path, args.runs, 1),
                          "ms_all_threads": tflite_latency(path, args.runs, all_threads)})
    reference = peers[0]["ms_1_thread"] if peers else None
    for row in rows:
        row["ratio_vs_peer_1_thread"] = None if reference is None else row["ms_1_thread"] / reference
        ratio = "" if reference is None else f", {row['ratio_vs_peer_1_thread']:.2f}x peer"
        print(f"{row['variant']:>15}: {row['ms_1_thread']:.2f} ms (1 thread), "
              f"{row['ms_all_threads']:.2f} ms ({all_threads} threads), {row['size_mb']:.2f} MB, "
              f"mesh parity {row['mesh_error_pct_width']:.3f}% width{ratio}")
    for peer in peers:
        print(f"{'peer':>15}: {peer['peer']} {peer['ms_1_thread']:.2f} ms (1 thread), "
              f"{peer['ms_all_threads']:.2f} ms ({all_threads} threads)")
    if not peers:
        print("peer models not found in ../shared/peers: ratios skipped")
    print(json.dumps({"benchmark": "encoder_latency", "input_size": size, "runs": args.runs,
                      "variants": rows, "peers": peers}))


if __name__ == "__main__":
    main()
