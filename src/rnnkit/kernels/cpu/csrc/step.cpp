// The single-step kernels of step.h: the gate math of the time loops (cells.h), without
// masks, dropout or zoneout. The biases that simply add are folded into the input
// projection, as kernel.py folds them into xg; the GRU's b_hn stays inside r ⊙ (·) with
// reset_after (rnnkit.cells.gru).
#include "step.h"

#include "cells.h"
#include "common.h"

namespace rnnkit {
namespace {

// gx (B, N) = x W_ih^T + b_ih + b_hh[:nb]; gh (B, N) = h W_hh^T in its first Nh columns.
template <typename T>
void project(const StepArgs<T>& a, int64_t N, int64_t Nh, int64_t nb, T* gx, T* gh) {
  gemm_rows_nt(a.B, N, a.I, a.x, a.I, a.w_ih, a.I, gx, N);
  gemm_rows_nt(a.B, Nh, a.H, a.h, a.H, a.w_hh, a.H, gh, N);
  // local restrict copies: loads through `a` could alias the stores, and the loops would
  // not vectorise (measured: the LSTM step 7% slower than with the biases in its gate loop)
  const T* __restrict__ bi = a.b_ih;
  const T* __restrict__ bh = a.b_hh;
  for (int64_t b = 0; b < a.B; ++b) {
    T* __restrict__ r = gx + b * N;
    if (bi != nullptr) {
      #pragma GCC ivdep
      for (int64_t j = 0; j < N; ++j) r[j] += bi[j];
    }
    if (bh != nullptr) {
      #pragma GCC ivdep
      for (int64_t j = 0; j < nb; ++j) r[j] += bh[j];
    }
  }
}

}  // namespace

template <typename T>
void lstm_cell(const StepArgs<T>& s) {
  const int64_t B = s.B, H = s.H, G = 4 * H;
  T* gx = s.ws;          // (B, 4H)
  T* gh = gx + B * G;    // (B, 4H)
  T* act = gh + B * G;   // (B, 4H) i, f, g, o
  T* tc = act + B * G;   // (B, H) tanh(c)
  project(s, G, G, G, gx, gh);
  for (int64_t b = 0; b < B; ++b) {
    lstm_gates<T, false, false>(H, gx + b * G, gh + b * G, nullptr, s.c + b * H, nullptr,
                                nullptr, nullptr, act + b * G, s.c1 + b * H, tc + b * H,
                                s.h1 + b * H);
  }
}

template <typename T>
void gru_cell(const StepArgs<T>& s, bool reset_after) {
  const int64_t B = s.B, H = s.H, G = 3 * H;
  T* gx = s.ws;          // (B, 3H)
  T* gh = gx + B * G;    // (B, 3H)
  T* act = gh + B * G;   // (B, 3H) r, z, n
  T* aux = act + B * G;  // (B, H) rec_n + b_hn, or r ⊙ h
  if (reset_after) {
    project(s, G, G, 2 * H, gx, gh);  // b_hn stays inside r ⊙ (·)
    const T* b_hn = s.b_hh ? s.b_hh + 2 * H : nullptr;
    for (int64_t b = 0; b < B; ++b) {
      gru_after_gates<T, false>(H, gx + b * G, gh + b * G, nullptr, b_hn, s.h + b * H,
                                act + b * G, aux + b * H, s.h1 + b * H);
    }
    return;
  }
  // reset_before: n = tanh(W_in x + b_in + b_hn + W_hn (r ⊙ h))
  project(s, G, 2 * H, G, gx, gh);
  for (int64_t b = 0; b < B; ++b) {
    gru_before_rz(H, gx + b * G, gh + b * G, s.h + b * H, act + b * G, aux + b * H);
  }
  gemm_rows_nt(B, H, H, aux, H, s.w_hh + 2 * H * H, H, gh + 2 * H, G);
  for (int64_t b = 0; b < B; ++b) {
    gru_before_n(H, gx + b * G + 2 * H, gh + b * G + 2 * H, s.h + b * H, act + b * G,
                 s.h1 + b * H);
  }
}

template <typename T>
void rnn_cell(const StepArgs<T>& s, bool relu) {
  T* gx = s.ws;               // (B, H)
  T* gh = gx + s.B * s.H;     // (B, H)
  project(s, s.H, s.H, s.H, gx, gh);
  if (relu) rnn_gates<T, true, false>(s.B * s.H, gx, gh, nullptr, s.h1);
  else rnn_gates<T, false, false>(s.B * s.H, gx, gh, nullptr, s.h1);
}

#define RNNKIT_STEPS(T)                                          \
  template void lstm_cell<T>(const StepArgs<T>&);                \
  template void gru_cell<T>(const StepArgs<T>&, bool);           \
  template void rnn_cell<T>(const StepArgs<T>&, bool);
RNNKIT_STEPS(float)
RNNKIT_STEPS(double)

}  // namespace rnnkit
