// Elman RNN time loop and its BPTT (rnnkit.cells.rnn), one instance per (relu, layer norm)
// pair; the gate math is cells.h's rnn_gates / rnn_gates_back:
//   h = act(xg_t + W_hh h_rec),  xg_t = W_ih x_t + b_ih + b_hh (hoisted), act = tanh or relu,
// followed by zoneout and the mask (common.h). With layer normalisation
// (rnnkit.cells.rnn) xg_t = LN(W_ih x_t) ⊙ γ_ih + b_ih + b_hh (kernel.py) and
//   h = act(xg_t + LN(W_hh h_rec) ⊙ γ_hh).
#include "cells.h"
#include "common.h"

namespace rnnkit {

template <typename T, bool RELU, bool LN>
void rnn_forward_t(Seq<T>& s) {
  const int64_t B = s.B, H = s.H, Tn = s.T_;
  const int64_t BS = s.bs;  // rows per time step in the (T, B, ·) arrays
  const int64_t rev = s.reverse ? 1 : 0;
  T* gh = s.ws;             // (B, H)
  T* hrec = gh + B * H;     // (B, H)
  T* a_ws = hrec + B * H;   // (B, H)
  const WeightGemm<T> Wh(true, B, H, H, s.w_hh, H, s.pack());  // h_rec W_hh^T
  for (int64_t step = 0; step < Tn; ++step) {
    const int64_t t = s.reverse ? Tn - 1 - step : step;
    const T* hp = s.hs + s.slot(t + rev) * BS * H;
    T* hn = s.hs + s.slot(t + 1 - rev) * BS * H;
    const T* hr = recurrent_input(s, hp, hrec);
    T* A = s.save ? s.act + t * BS * H : a_ws;
    if constexpr (LN) {
      Wh(hr, H, T(0), gh, H);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t tb = t * BS + b;
        T* xh = s.save ? s.ln_xh + tb * H : gh + b * H;  // in place when not saving
        const T rh = ln_row(gh + b * H, H, s.eps, xh);
        if (s.save) s.ln_rh[tb] = rh;
        rnn_gates<T, RELU, true>(H, s.xg + tb * H, xh, s.ln_hh, A + b * H);
      }
    } else {
      Wh(hr, H, T(0), gh, H);
      rnn_gates<T, RELU, false>(B * H, s.xg + t * BS * H, gh, s.ln_hh, A);
    }
    settle(s, t, H, hp, A, s.zone_h, s.zh, s.zoned_h(), hn, s.out + t * BS * H);
  }
}

template <typename T, bool RELU, bool LN>
void rnn_backward_t(Seq<T>& s) {
  const int64_t B = s.B, H = s.H, Tn = s.T_;
  const int64_t BS = s.bs;  // rows per time step in the (T, B, ·) arrays
  T* dH = s.ws;             // (B, H)
  T* dHp = dH + B * H;      // (B, H)
  T* dcell = dHp + B * H;   // (B, H)
  T* tmp = dcell + B * H;   // (B, H)
  const WeightGemm<T> Wh(false, B, H, H, s.w_hh, H, s.pack());  // dA W_hh
  #pragma GCC ivdep
  for (int64_t i = 0; i < B * H; ++i) dH[i] = s.dhN ? s.dhN[i] : T(0);
  for (int64_t step = 0; step < Tn; ++step) {
    const int64_t t = s.reverse ? step : Tn - 1 - step;
    if (s.dout != nullptr) {
      for (int64_t b = 0; b < B; ++b) {
        if (!s.valid(t, b)) continue;
        const T* __restrict__ d = s.dout + (t * BS + b) * H;
        T* __restrict__ h = dH + b * H;
        #pragma GCC ivdep
        for (int64_t j = 0; j < H; ++j) h[j] += d[j];
      }
    }
    unsettle(s, t, H, dH, s.zone_h, s.zh, s.zoned_h(), dHp, dcell);
    const T* __restrict__ A = s.act + t * BS * H;
    T* __restrict__ dA = s.dxg + t * BS * H;
    // masked rows: dcell is 0 there, so dA is 0 too
    rnn_gates_back<T, RELU>(B * H, A, dcell, dA);
    if constexpr (LN) {  // dA is 0 on masked rows, and so are these
      for (int64_t b = 0; b < B; ++b) {
        const int64_t tb = t * BS + b;
        const T* __restrict__ xh = s.ln_xh + tb * H;
        const T* __restrict__ da = dA + b * H;
        double* __restrict__ ghh = s.d_lnhh;
        #pragma GCC ivdep
        for (int64_t j = 0; j < H; ++j) ghh[j] += double(da[j] * xh[j]);
        ln_row_backward(da, s.ln_hh, xh, s.ln_rh[tb], H, s.dgh + tb * H);
      }
    }
    back_through_whh(s, LN ? s.dgh + t * BS * H : dA, H, Wh, dHp, tmp);
    std::swap(dH, dHp);
  }
  std::memcpy(s.dh0, dH, sizeof(T) * B * H);
}

template <typename T>
void rnn_forward(Seq<T>& s) {
  with_flags(s.mode == RNN_RELU, s.ln_hh != nullptr, [&](auto relu, auto ln) {
    rnn_forward_t<T, decltype(relu)::value, decltype(ln)::value>(s);
  });
}

template <typename T>
void rnn_backward(Seq<T>& s) {
  with_flags(s.mode == RNN_RELU, s.ln_hh != nullptr, [&](auto relu, auto ln) {
    rnn_backward_t<T, decltype(relu)::value, decltype(ln)::value>(s);
  });
}

template void rnn_forward<float>(Seq<float>&);
template void rnn_forward<double>(Seq<double>&);
template void rnn_backward<float>(Seq<float>&);
template void rnn_backward<double>(Seq<double>&);

}  // namespace rnnkit
