"""Where one ConvLSTM training epoch spends its time (torch.profiler), for the per-step
module and rnnkit's conv-cpu kernel in its joint and hoisted forms, on the workload of
benchmarks/conv_lstm.py (8 videos x 10 frames of 64x64, batch 8, ConvLSTM(1 -> F) + a 1x1
head, MSE, Adam). The figures that README.md and docs/conv_recurrent.md quote about the
profile come from this script's output (benchmarks/results/conv_lstm_profile_quiet.txt).

    python benchmarks/conv_lstm_profile.py                 # F=16, k=3, 2 threads
    python benchmarks/conv_lstm_profile.py --filters 64 --kernel 5

Per peer: the median epoch over 5 unprofiled runs; then one profiled epoch: its total self
CPU time, the share in convolutions (forward and backward calls), the share in rnnkit's
native gate ops, and the largest operators with their input shapes. For the hoisted form
it also prints the rate of the 1-channel input convolution (the call over all T·B frames).
Timings under the profiler run a little slower than without it; compare shares, not times.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
from torch.profiler import profile

sys.path.insert(0, str(Path(__file__).resolve().parent))
import conv_lstm as bench  # noqa: E402  (the benchmark's models and epoch)
from rnnkit.kernels import conv_fused  # noqa: E402

CONV_OPS = ("aten::mkldnn_convolution", "aten::convolution_backward",
            "aten::_slow_conv2d_forward", "aten::_slow_conv2d_backward")


def _epoch(model, head, data, batch, device) -> float:
    return bench.time_epoch(model, head, data, batch, device)


def profile_peer(name, model, head, data, args, device) -> None:
    for _ in range(2):
        _epoch(model, head, data, args.batch, device)
    median = statistics.median(_epoch(model, head, data, args.batch, device) for _ in range(5))
    with profile(record_shapes=True) as prof:
        _epoch(model, head, data, args.batch, device)
    events = prof.key_averages(group_by_input_shape=True)
    total = sum(e.self_cpu_time_total for e in events)
    conv = sum(e.self_cpu_time_total for e in events if e.key in CONV_OPS)
    gates = sum(e.self_cpu_time_total for e in events if e.key.startswith("rnnkit_conv::"))
    print(f"\n== {name}: epoch {median * 1e3:.0f} ms (median of 5, unprofiled); profiled "
          f"self CPU {total / 1e3:.0f} ms: convolutions {conv / 1e3:.0f} ms "
          f"({100 * conv / total:.0f}%), native gate ops {gates / 1e3:.1f} ms")
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:args.top]:
        shapes = str(e.input_shapes)[:90]
        print(f"  {e.self_cpu_time_total / 1e3:8.1f} ms  {e.count:4d} calls  {e.key:32s} {shapes}")
    T, B = data.shape[1] - 1, args.batch
    for e in events:  # the hoisted 1-channel input convolution over all T·B frames
        sh = e.input_shapes
        if e.key == "aten::mkldnn_convolution" and sh and sh[0][:2] == [T * B, 1]:
            n, _, H, W = sh[0]
            out_c, _, kh, kw = sh[1]
            flop = 2 * n * out_c * kh * kw * H * W
            print(f"  the 1-channel input convolution ({n} frames -> {out_c} maps): "
                  f"{e.self_cpu_time_total / 1e3:.1f} ms, {flop / e.self_cpu_time_total / 1e3:.1f} "
                  "GFLOP/s")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--filters", type=int, default=16)
    p.add_argument("--kernel", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--samples", type=int, default=8)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--top", type=int, default=8)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    print(f"torch {torch.__version__} | threads {torch.get_num_threads()} | F={args.filters} "
          f"k={args.kernel} | {args.samples} videos x 10 frames of 64x64, batch {args.batch}")
    peers, heads = bench.make_models(args.filters, args.kernel, device, torch.float32)
    data = torch.rand(args.samples, 10, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    profile_peer("per-step module", peers["per-step"], heads["per-step"], data, args, device)
    profile_peer("rnnkit conv-cpu, joint form", peers["rnnkit"], heads["rnnkit"], data, args,
                 device)
    saved = conv_fused.JOINT_TRAINING
    conv_fused.JOINT_TRAINING = False
    try:
        profile_peer("rnnkit conv-cpu, hoisted form (JOINT_TRAINING = False)", peers["rnnkit"],
                     heads["rnnkit"], data, args, device)
    finally:
        conv_fused.JOINT_TRAINING = saved
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
