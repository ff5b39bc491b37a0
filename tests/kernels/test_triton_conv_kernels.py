"""The raw Triton kernels, launched on NaN-filled buffers longer than their outputs:
every output element is written (no NaN left inside) and nothing past the end
(the masked tail of the last block stays NaN). Runs in Triton's interpreter."""
import pytest
import torch

pytest.importorskip("triton", reason="triton is not installed (pip install -e '.[gpu]')")

from rnnkit.kernels import triton_conv as tc  # noqa: E402

B, F, S = 2, 3, (5, 7)  # n = 210 elements per state tensor, not a multiple of the block
N = F * S[0] * S[1]
n = B * N
PAD = 37


def _nan(size):
    return torch.full((size + PAD,), float("nan"), dtype=torch.float64)


def _g(k):  # a gate tensor (B, kF, *S) with each sample's block contiguous
    return torch.randn(B, k * F, *S, dtype=torch.float64)


CASES = {  # kernel -> (inputs, output sizes, extra flags)
    "lstm_fwd": (lambda: [_g(4), _g(1)], [n, n], (4 * N, N), ()),
    "lstm_bwd": (lambda: [_g(4), _g(1), _g(1).flatten(), _g(1).flatten()], [4 * n, n],
                 (4 * N, N), ()),
    "gru_fwd": (lambda: [_g(3), _g(3), _g(1)], [n], (3 * N, 3 * N, N), (True,)),
    "gru_bwd": (lambda: [_g(3), _g(3), _g(1), _g(1).flatten()], [3 * n, 3 * n, n],
                (3 * N, 3 * N, N), (False,)),
    "gru_reset_fwd": (lambda: [_g(1), _g(1), _g(1)], [n], (N, N, N), ()),
    "gru_reset_bwd": (lambda: [_g(1), _g(1), _g(1), _g(1).flatten()], [n, n], (N, N, N), ()),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_kernel_writes_exactly_its_outputs(name, monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    make_inputs, sizes, strides, flags = CASES[name]
    torch.manual_seed(0)
    outs = [_nan(size) for size in sizes]
    tc._launch(name, (*make_inputs(), *outs), N, *strides, *flags)
    for out, size in zip(outs, sizes):
        assert not out[:size].isnan().any(), f"{name} left unwritten elements"
        assert out[size:].isnan().all(), f"{name} wrote past its output"


# name -> (pointer arguments, integer arguments, extra constexprs), in the kernels' order
SIGNATURES = {
    "lstm_fwd": (4, 3, {}), "lstm_bwd": (6, 3, {}),
    "gru_fwd": (4, 4, {"RESET_AFTER": True}), "gru_bwd": (7, 4, {"RESET_AFTER": False}),
    "gru_reset_fwd": (4, 4, {}), "gru_reset_bwd": (6, 4, {}),
}
COMPILED = [(name, "fp32") for name in SIGNATURES] + [("lstm_bwd", "fp64"), ("gru_bwd", "fp64")]


@pytest.mark.parametrize("name,dtype", COMPILED)
def test_kernel_compiles_for_a_gpu_without_one(name, dtype):
    """The interpreter skips Triton's compiler; this runs it (to PTX and a cubin for
    sm_90 with the wheel's ptxas, no GPU needed). With the 16-divisible sizes and
    aligned pointers that Triton specialises on, the loads come out vectorised
    (ld.global.v*) and there is no 64-bit division per element."""
    import triton
    import triton.language as tl
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from rnnkit.kernels import _triton_conv_kernels as src
    n_ptr, n_int, extra = SIGNATURES[name]
    fn = triton.JITFunction(getattr(src, name))
    names = fn.arg_names
    sig = {a: ("*" + dtype if i < n_ptr else "i32" if i < n_ptr + n_int else "constexpr")
           for i, a in enumerate(names)}
    consts = {"ACC": tl.float64 if dtype == "fp64" else tl.float32, "BLOCK": 1024, **extra}
    assert set(consts) == {a for a, t in sig.items() if t == "constexpr"}
    ast = ASTSource(fn, sig, constexprs={(names.index(k),): v for k, v in consts.items()},
                    attrs={(i,): [["tt.divisibility", 16]] for i in range(n_ptr + n_int)})
    try:
        kernel = triton.compile(ast, target=GPUTarget("cuda", 90, 32))
    except RuntimeError as err:
        if "ptxas" in str(err).lower() and "not found" in str(err).lower():
            pytest.skip(f"no ptxas in this triton install: {err}")
        raise
    ptx = kernel.asm["ptx"]
    assert "ld.global.v" in ptx
    assert "div.s64" not in ptx and "div.u64" not in ptx
    assert kernel.asm["cubin"]
