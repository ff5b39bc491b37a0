r"""Triton kernels of the convolutional cells' per-step gate updates (the element-wise
part; the convolutions stay torch's). The equations are those of
``rnnkit.cells.conv_lstm`` and ``rnnkit.cells.conv_gru`` with σ = sigmoid and
act = tanh; :mod:`rnnkit.kernels.triton_conv` wraps them in autograd Functions.

Layout shared by every kernel: the grid is (⌈F·N / BLOCK⌉, B), N = prod(S);
program (p, b) handles positions r = p·BLOCK … p·BLOCK + BLOCK − 1 of sample b's
(F, *S) block. Gate k of a gate tensor sits at ``ptr + b·stride_b + k·F·N + r``,
so a tensor needs only its per-sample block (G·F, *S) contiguous (channel slices
of a contiguous tensor qualify, e.g. ``xg[:, :F]``); outputs are contiguous.
No integer division per element, and r is contiguous within a program, so the
compiler can vectorise the loads (Triton specialises F·N and the strides on
divisibility by 16). Sample offsets are int64: B·G·F·N can pass 2^31.

Arithmetic runs in ACC (float32, or float64 for float64 tensors); loads are
cast up and stores cast back to the tensor's dtype. σ(x) is written
1 / (1 + exp(−x)) and tanh(x) as 2σ(2x) − 1, from the builtin ``tl.exp`` only:
Triton's interpreter (the CPU tests) has no libdevice tanh, and ``tl.sigmoid``
is itself a ``triton.jit`` function, fixed as compiled or interpreted when triton
is first imported (torch._dynamo imports it early), which would tie the kernels
to that moment's TRITON_INTERPRET. One formula on both paths keeps what the
tests check the same as what runs on the GPU; its absolute error is a few ulps
of 1, as torch's tanh.

The functions here are plain Python: :func:`rnnkit.kernels.triton_conv._kernel`
turns each into a compiled ``triton.JITFunction`` (CUDA tensors) or an interpreted
one (CPU tensors, TRITON_INTERPRET=1), chosen per call by the tensor's device.
"""
from __future__ import annotations

import triton.language as tl


def lstm_fwd(pre, c_prev, h_out, c_out, FN, s_pre, s_c,
             ACC: tl.constexpr, BLOCK: tl.constexpr):
    """pre (B, 4F, *S) as i | f | g | o, c_prev (B, F, *S) -> h_out, c_out (B, F, *S):
    i, f, o = σ(A_i), σ(A_f), σ(A_o); g = tanh(A_g); C = f∘C_prev + i∘g; H = o∘tanh(C)."""
    b = tl.program_id(1).to(tl.int64)  # the sample
    r = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)  # positions in its (F, *S) block
    m = r < FN
    j = b * FN + r  # in the contiguous (B, F, *S) tensors
    p = pre + b * s_pre + r
    a_i = tl.load(p, mask=m).to(ACC)
    a_f = tl.load(p + FN, mask=m).to(ACC)
    a_g = tl.load(p + 2 * FN, mask=m).to(ACC)
    a_o = tl.load(p + 3 * FN, mask=m).to(ACC)
    cp = tl.load(c_prev + b * s_c + r, mask=m).to(ACC)
    i = 1.0 / (1.0 + tl.exp(-a_i))
    f = 1.0 / (1.0 + tl.exp(-a_f))
    g = 2.0 / (1.0 + tl.exp(-2.0 * a_g)) - 1.0
    o = 1.0 / (1.0 + tl.exp(-a_o))
    c = f * cp + i * g
    h = o * (2.0 / (1.0 + tl.exp(-2.0 * c)) - 1.0)
    tl.store(c_out + j, c, mask=m)
    tl.store(h_out + j, h, mask=m)


def lstm_bwd(pre, c_prev, dh, dc, dpre, dc_prev, FN, s_pre, s_c,
             ACC: tl.constexpr, BLOCK: tl.constexpr):
    """Recomputes the gates from pre and c_prev, then (dH, dC) -> (dA, dC_prev):
    dC* = dC + dH∘o∘(1 − tanh²C); dA_i = dC*∘g∘i(1−i); dA_f = dC*∘C_prev∘f(1−f);
    dA_g = dC*∘i∘(1−g²); dA_o = dH∘tanh C∘o(1−o); dC_prev = dC*∘f.
    dh, dc contiguous (B, F, *S); dpre contiguous (B, 4F, *S)."""
    b = tl.program_id(1).to(tl.int64)  # the sample
    r = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)  # positions in its (F, *S) block
    m = r < FN
    j = b * FN + r  # in the contiguous (B, F, *S) tensors
    p = pre + b * s_pre + r
    a_i = tl.load(p, mask=m).to(ACC)
    a_f = tl.load(p + FN, mask=m).to(ACC)
    a_g = tl.load(p + 2 * FN, mask=m).to(ACC)
    a_o = tl.load(p + 3 * FN, mask=m).to(ACC)
    cp = tl.load(c_prev + b * s_c + r, mask=m).to(ACC)
    d_h = tl.load(dh + j, mask=m).to(ACC)
    d_c = tl.load(dc + j, mask=m).to(ACC)
    i = 1.0 / (1.0 + tl.exp(-a_i))
    f = 1.0 / (1.0 + tl.exp(-a_f))
    g = 2.0 / (1.0 + tl.exp(-2.0 * a_g)) - 1.0
    o = 1.0 / (1.0 + tl.exp(-a_o))
    c = f * cp + i * g
    tc = 2.0 / (1.0 + tl.exp(-2.0 * c)) - 1.0
    dct = d_c + d_h * o * (1.0 - tc * tc)
    q = dpre + b * (4 * FN) + r
    tl.store(q, dct * g * i * (1.0 - i), mask=m)
    tl.store(q + FN, dct * cp * f * (1.0 - f), mask=m)
    tl.store(q + 2 * FN, dct * i * (1.0 - g * g), mask=m)
    tl.store(q + 3 * FN, d_h * tc * o * (1.0 - o), mask=m)
    tl.store(dc_prev + j, dct * f, mask=m)


def gru_fwd(xg, hg, h_prev, h_out, FN, s_x, s_h, s_p,
            RESET_AFTER: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr):
    """xg, hg (B, 3F, *S) as r | z | n (biases included), h_prev (B, F, *S) -> h_out:
    z = σ(X_z + H_z); RESET_AFTER: r = σ(X_r + H_r), h̃ = tanh(X_n + r∘H_n),
    else h̃ = tanh(X_n + H_n) (H_n = W_hn ⋆ (r∘H_prev) + b_hn, made by the caller);
    H = z∘H_prev + (1 − z)∘h̃."""
    b = tl.program_id(1).to(tl.int64)  # the sample
    r = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)  # positions in its (F, *S) block
    m = r < FN
    j = b * FN + r  # in the contiguous (B, F, *S) tensors
    px = xg + b * s_x + r
    ph = hg + b * s_h + r
    hp = tl.load(h_prev + b * s_p + r, mask=m).to(ACC)
    a_z = tl.load(px + FN, mask=m).to(ACC) + tl.load(ph + FN, mask=m).to(ACC)
    z = 1.0 / (1.0 + tl.exp(-a_z))
    a_n = tl.load(px + 2 * FN, mask=m).to(ACC)
    h_n = tl.load(ph + 2 * FN, mask=m).to(ACC)
    if RESET_AFTER:
        a_r = tl.load(px, mask=m).to(ACC) + tl.load(ph, mask=m).to(ACC)
        rr = 1.0 / (1.0 + tl.exp(-a_r))
        a_n = a_n + rr * h_n
    else:
        a_n = a_n + h_n
    nn = 2.0 / (1.0 + tl.exp(-2.0 * a_n)) - 1.0
    tl.store(h_out + j, z * hp + (1.0 - z) * nn, mask=m)


def gru_bwd(xg, hg, h_prev, dh, dxg, dhg, dh_prev, FN, s_x, s_h, s_p,
            RESET_AFTER: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr):
    """dH -> dX (= dA of each gate), dH_gates, dH_prev, recomputing r, z, h̃:
    dA_n = dH∘(1−z)∘(1−h̃²); dA_z = dH∘(H_prev − h̃)∘z(1−z); dH_prev = dH∘z.
    RESET_AFTER: dH_n = dA_n∘r, dA_r = dA_n∘H_n∘r(1−r); else dH_n = dA_n, dA_r = 0
    (r's gradient then flows through the caller's W_hn ⋆ (r∘H_prev)).
    dxg, dhg contiguous (B, 3F, *S); dh, dh_prev contiguous (B, F, *S)."""
    b = tl.program_id(1).to(tl.int64)  # the sample
    r = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)  # positions in its (F, *S) block
    m = r < FN
    j = b * FN + r  # in the contiguous (B, F, *S) tensors
    px = xg + b * s_x + r
    ph = hg + b * s_h + r
    hp = tl.load(h_prev + b * s_p + r, mask=m).to(ACC)
    d_h = tl.load(dh + j, mask=m).to(ACC)
    a_z = tl.load(px + FN, mask=m).to(ACC) + tl.load(ph + FN, mask=m).to(ACC)
    z = 1.0 / (1.0 + tl.exp(-a_z))
    a_n = tl.load(px + 2 * FN, mask=m).to(ACC)
    h_n = tl.load(ph + 2 * FN, mask=m).to(ACC)
    if RESET_AFTER:
        a_r = tl.load(px, mask=m).to(ACC) + tl.load(ph, mask=m).to(ACC)
        rr = 1.0 / (1.0 + tl.exp(-a_r))
        a_n = a_n + rr * h_n
    else:
        a_n = a_n + h_n
    nn = 2.0 / (1.0 + tl.exp(-2.0 * a_n)) - 1.0
    da_n = d_h * (1.0 - z) * (1.0 - nn * nn)
    da_z = d_h * (hp - nn) * z * (1.0 - z)
    if RESET_AFTER:
        da_r = da_n * h_n * rr * (1.0 - rr)
        dh_n = da_n * rr
    else:
        da_r = tl.full([BLOCK], 0.0, ACC)
        dh_n = da_n
    qx = dxg + b * (3 * FN) + r
    qh = dhg + b * (3 * FN) + r
    tl.store(qx, da_r, mask=m)
    tl.store(qx + FN, da_z, mask=m)
    tl.store(qx + 2 * FN, da_n, mask=m)
    tl.store(qh, da_r, mask=m)
    tl.store(qh + FN, da_z, mask=m)
    tl.store(qh + 2 * FN, dh_n, mask=m)
    tl.store(dh_prev + j, d_h * z, mask=m)


def gru_reset_fwd(x_r, h_r, h_prev, out, FN, s_x, s_h, s_p,
                  ACC: tl.constexpr, BLOCK: tl.constexpr):
    """reset_after=False's first half: r = σ(X_r + H_r), out = r∘H_prev (B, F, *S)."""
    b = tl.program_id(1).to(tl.int64)  # the sample
    r = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)  # positions in its (F, *S) block
    m = r < FN
    j = b * FN + r  # in the contiguous (B, F, *S) tensors
    a_r = tl.load(x_r + b * s_x + r, mask=m).to(ACC) + tl.load(h_r + b * s_h + r, mask=m).to(ACC)
    rr = 1.0 / (1.0 + tl.exp(-a_r))
    tl.store(out + j, rr * tl.load(h_prev + b * s_p + r, mask=m).to(ACC), mask=m)


def gru_reset_bwd(x_r, h_r, h_prev, dout, da_r, dh_prev, FN, s_x, s_h, s_p,
                  ACC: tl.constexpr, BLOCK: tl.constexpr):
    """d(r∘H_prev) -> dA_r = d∘H_prev∘r(1−r) (the gradient of X_r and of H_r), dH_prev = d∘r."""
    b = tl.program_id(1).to(tl.int64)  # the sample
    r = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)  # positions in its (F, *S) block
    m = r < FN
    j = b * FN + r  # in the contiguous (B, F, *S) tensors
    a_r = tl.load(x_r + b * s_x + r, mask=m).to(ACC) + tl.load(h_r + b * s_h + r, mask=m).to(ACC)
    rr = 1.0 / (1.0 + tl.exp(-a_r))
    hp = tl.load(h_prev + b * s_p + r, mask=m).to(ACC)
    d = tl.load(dout + j, mask=m).to(ACC)
    tl.store(da_r + j, d * hp * rr * (1.0 - rr), mask=m)
    tl.store(dh_prev + j, d * rr, mask=m)
