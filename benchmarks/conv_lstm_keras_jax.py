"""The Keras 3 ConvLSTM2D peer of benchmarks/conv_lstm.py, on the JAX backend, in its own
process (jax lives in another environment: ``pip install 'rnnkit[bench]'``).

    python benchmarks/conv_lstm_keras_jax.py WORKLOAD.npz

The workload file (written by conv_lstm.py) holds the data, the per-step module's weights
in Keras's layout and the sizes. This process builds the same model (ConvLSTM2D(F, k,
"same") -> TimeDistributed(Conv2D(1, 1)), MSE, Adam(1e-3), batch 8), jit-compiled, and
prints one JSON line: the float32 loss of the first batch under those weights (the parity
check), and the compile times (the first epoch / frame minus the next, reported apart).
Then it answers the parent's commands on stdin, one per line, so that the parent can
alternate it with the torch peers: ``train`` (seconds of one epoch), ``stream`` (seconds
per frame at B=1, the state carried between T=1 calls), ``quit``.
"""
from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402


def build(w, T1: int, size: int, filters: int, k: int):
    import keras

    frames = keras.Input((T1, size, size, 1))
    seq = keras.layers.ConvLSTM2D(filters, k, padding="same", return_sequences=True)(frames)
    pred = keras.layers.TimeDistributed(keras.layers.Conv2D(1, 1))(seq)
    model = keras.Model(frames, pred)
    model.layers[1].set_weights([w["kernel"], w["recurrent_kernel"], w["bias"]])
    model.layers[2].set_weights([w["head_kernel"], w["head_bias"]])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", jit_compile=True)

    # streaming: one frame and the state in, the state out (Keras's initial_state)
    x1 = keras.Input((1, size, size, 1))
    h0 = keras.Input((size, size, filters))
    c0 = keras.Input((size, size, filters))
    cell = keras.layers.ConvLSTM2D(filters, k, padding="same", return_state=True)
    _, h1, c1 = cell(x1, initial_state=[h0, c0])
    stream = keras.Model([x1, h0, c0], [h1, c1])
    cell.set_weights([w["kernel"], w["recurrent_kernel"], w["bias"]])
    return model, stream


def main() -> int:
    w = dict(np.load(sys.argv[1]))
    data, frames = w["data"], w["stream"]  # (N, 10, H, W, 1), (1, n, H, W, 1)
    filters, k, batch = int(w["filters"]), int(w["kernel_size"]), int(w["batch"])
    size = data.shape[2]
    model, stream = build(w, data.shape[1] - 1, size, filters, k)
    x, y = data[:, :-1], data[:, 1:]
    loss0 = float(model.evaluate(x[:2], y[:2], batch_size=2, verbose=0))

    def train() -> float:
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
        return time.perf_counter() - t0

    def streaming() -> float:
        h = np.zeros((1, size, size, filters), np.float32)
        c = np.zeros_like(h)
        t0 = time.perf_counter()
        for t in range(frames.shape[1]):
            h, c = stream.predict_on_batch([frames[:, t:t + 1], h, c])
        np.asarray(h)  # wait for the result (JAX dispatches asynchronously)
        return (time.perf_counter() - t0) / frames.shape[1]

    first_train, next_train = train(), train()
    first_frame, next_frame = streaming(), streaming()
    import jax
    import keras

    print(json.dumps({"loss": loss0, "compile_train_s": first_train - next_train,
                      "compile_stream_s": (first_frame - next_frame) * frames.shape[1],
                      "versions": f"keras {keras.__version__}, jax {jax.__version__}",
                      "threads": os.cpu_count()}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "quit":
            break
        seconds = {"train": train, "stream": streaming}[cmd]()
        print(json.dumps({cmd: seconds}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
