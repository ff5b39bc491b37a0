#!/usr/bin/env bash
# One short GPU check (lent H200): the CUDA tests, NCCL + mixed precision through fit,
# the ConvLSTM benchmark on CUDA, and the Triton gate kernels compiled (parity, then timing;
# scripts/gpu_conv_check.py). Run from the repository root; writes to $OUT (or out/).
set -u
OUT=${OUT:-out}; mkdir -p "$OUT"
export PYTHONPATH=$PWD/src RNNKIT_CACHE_DIR=/tmp/rnnkit-cache
PY=${PY:-python3}
{ nvidia-smi -L; $PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"; } 2>&1 | tee "$OUT/env.txt"
timeout 150 $PY -m pytest -q -p no:cacheprovider -o addopts="" -m "not slow" \
  tests/models/test_cuda.py tests/kernels/test_conv_recurrent.py tests/layers/test_recurrent.py \
  -k "cuda or gpu or CUDA" 2>&1 | tail -30 | tee "$OUT/cuda_tests.txt"
timeout 90 $PY - <<'PYEOF' 2>&1 | tail -20 | tee "$OUT/nccl_amp.txt"
import os
os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", LOCAL_WORLD_SIZE="1",
                  MASTER_ADDR="127.0.0.1", MASTER_PORT="29533")
import numpy as np, torch, torch.distributed as dist
import rnnkit.layers as L
from rnnkit.models import Sequential
from rnnkit import mixed_precision
rng = np.random.default_rng(0)
x = rng.normal(size=(256, 30, 3)).astype("float32"); y = x[:, -5, :1].copy()
for policy in ("float32", "mixed_bfloat16", "mixed_float16"):
    mixed_precision.set_global_policy(policy)
    torch.manual_seed(0)
    m = Sequential([L.LSTM(32, input_shape=(30, 3)), L.Dense(1)])
    m.compile("adam", "mse", device="cuda")
    h = m.fit(x, y, epochs=4, batch_size=32, verbose=0)
    print(policy, "backend", dist.get_backend() if dist.is_initialized() else None,
          "loss", [round(v, 4) for v in h.history["loss"]],
          "weights", {str(p.dtype) for p in m.parameters()})
mixed_precision.set_global_policy("float32")
PYEOF
# The limits add up to 550 s, inside one 600 s device call; the never-run Triton check first.
timeout 150 $PY scripts/gpu_conv_check.py --json "$OUT/triton_conv.json" 2>&1 | tail -30 | tee "$OUT/triton_conv.txt"
timeout 160 $PY benchmarks/conv_lstm.py --device cuda --rounds 3 2>&1 | tail -30 | tee "$OUT/conv_lstm_cuda.txt"
