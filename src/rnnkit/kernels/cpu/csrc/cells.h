// Each cell's gate math, written once, as loops over one batch row templated on the
// variant flags (peepholes, layer norm, relu): the time loops (lstm.cpp, gru.cpp, rnn.cpp)
// and the streaming steps (step.cpp) all call these. The equations are
// rnnkit.cells.lstm.lstm_step, rnnkit.cells.gru.gru_step and rnnkit.cells.rnn.rnn_step.
//
// Every row function takes the input part of the pre-activations `x` (W_ih x_t plus the
// biases that simply add; with layer norm LN(W_ih x_t) ⊙ γ_ih plus them, kernel.py) and
// the recurrent part `rec`: W_hh h_rec, or with layer norm LN(W_hh h_rec) before its
// gain, which is then γ_hh = gam (so the recurrent term is gam ⊙ rec). One instance per
// flag combination lets GCC vectorise each loop without a branch inside it.
#pragma once

#include <type_traits>

#include "common.h"

namespace rnnkit {

// The recurrent term of pre-activation k: rec_k, or γ_hh,k · LN(W_hh h_rec)_k.
template <bool LN, typename T>
inline T recurrent(const T* __restrict__ rec, const T* __restrict__ gam, int64_t k) {
  if constexpr (LN) return gam[k] * rec[k];
  return rec[k];
}

// ---- LSTM (rnnkit.cells.lstm), gates i, f, g, o --------------------------------------
//   i = σ(a_i + w_ci ⊙ c_prev), f = σ(a_f + w_cf ⊙ c_prev), g = tanh(a_g)
//   c = f ⊙ c_prev + i ⊙ g,  o = σ(a_o + w_co ⊙ c)       (peepholes with PEEP only)
//   h = o ⊙ tanh(c)                                    (without LN, here)
// Writes the activations a (4H) = [i, f, g, o] and c (H); without LN also tanh(c) and
// h = o ⊙ tanh(c). With LN, h needs LN(c) over the whole row first: lstm_ln_output.
template <typename T, bool PEEP, bool LN>
inline void lstm_gates(int64_t H, const T* __restrict__ x, const T* __restrict__ rec,
                       const T* __restrict__ gam, const T* __restrict__ c0,
                       const T* __restrict__ wci, const T* __restrict__ wcf,
                       const T* __restrict__ wco, T* __restrict__ a, T* __restrict__ c1,
                       T* __restrict__ tc1, T* __restrict__ h1) {
  #pragma GCC ivdep
  for (int64_t j = 0; j < H; ++j) {
    T ai = x[j] + recurrent<LN>(rec, gam, j);
    T af = x[H + j] + recurrent<LN>(rec, gam, H + j);
    if constexpr (PEEP) { ai += wci[j] * c0[j]; af += wcf[j] * c0[j]; }
    const T i = sigm<T>(ai), f = sigm<T>(af);
    const T g = tanh_<T>(x[2 * H + j] + recurrent<LN>(rec, gam, 2 * H + j));
    const T c = f * c0[j] + i * g;
    T ao = x[3 * H + j] + recurrent<LN>(rec, gam, 3 * H + j);
    if constexpr (PEEP) ao += wco[j] * c;
    const T o = sigm<T>(ao);
    a[j] = i; a[H + j] = f; a[2 * H + j] = g; a[3 * H + j] = o;
    c1[j] = c;
    if constexpr (!LN) {
      const T tcv = tanh_<T>(c);
      tc1[j] = tcv;
      h1[j] = o * tcv;
    }
  }
}

// With LN (Ba et al. 2016): h = o ⊙ tanh(LN(c) ⊙ γ_c + β_c), xc = LN(c) (c carried as is).
template <typename T>
inline void lstm_ln_output(int64_t H, const T* __restrict__ xc, const T* __restrict__ lncw,
                           const T* __restrict__ lncb, const T* __restrict__ a,
                           T* __restrict__ tc1, T* __restrict__ h1) {
  #pragma GCC ivdep
  for (int64_t j = 0; j < H; ++j) {
    const T tcv = tanh_<T>(xc[j] * lncw[j] + lncb[j]);
    tc1[j] = tcv;
    h1[j] = a[3 * H + j] * tcv;
  }
}

// Backward of lstm_gates: from dh (grad of o ⊙ tanh c, H), dc_in (grad of c from the
// next step, H), dcl (grad reaching c from h: dh ⊙ o ⊙ (1 − tanh² ·), through the LN of
// c when there is one), the saved a and tanh values tc, to the pre-activation grads da
// (4H) and the grad of c_prev, added into dcp.
template <typename T, bool PEEP>
inline void lstm_gates_back(int64_t H, const T* __restrict__ a, const T* __restrict__ tc,
                            const T* __restrict__ c0, const T* __restrict__ dh,
                            const T* __restrict__ dc_in, const T* __restrict__ dcl,
                            const T* __restrict__ wci, const T* __restrict__ wcf,
                            const T* __restrict__ wco, T* __restrict__ da,
                            T* __restrict__ dcp) {
  #pragma GCC ivdep
  for (int64_t j = 0; j < H; ++j) {
    const T i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j], tcv = tc[j];
    const T dao = dh[j] * tcv * o * (T(1) - o);
    T dc = dc_in[j] + dcl[j];
    if constexpr (PEEP) dc += dao * wco[j];
    const T dai = dc * g * i * (T(1) - i);
    const T daf = dc * c0[j] * f * (T(1) - f);
    const T dag = dc * i * (T(1) - g * g);
    T dcprev = dc * f;
    if constexpr (PEEP) dcprev += dai * wci[j] + daf * wcf[j];
    dcp[j] += dcprev;
    da[j] = dai; da[H + j] = daf; da[2 * H + j] = dag; da[3 * H + j] = dao;
  }
}

// ---- GRU (rnnkit.cells.gru), gates r, z, n ----------------------------------------------
//   r = σ(a_r), z = σ(a_z),  h = z ⊙ h_prev + (1 − z) ⊙ n
// reset_after:  n = tanh(x_n + r ⊙ (rec_n + b_hn)); writes a (3H) = [r, z, n], ghn =
// rec_n + b_hn (backward's r grad needs it) and h1.
template <typename T, bool LN>
inline void gru_after_gates(int64_t H, const T* __restrict__ x, const T* __restrict__ rec,
                            const T* __restrict__ gam, const T* __restrict__ b_hn,
                            const T* __restrict__ h0, T* __restrict__ a, T* __restrict__ ghn,
                            T* __restrict__ h1) {
  #pragma GCC ivdep
  for (int64_t j = 0; j < H; ++j) {
    const T r = sigm<T>(x[j] + recurrent<LN>(rec, gam, j));
    const T z = sigm<T>(x[H + j] + recurrent<LN>(rec, gam, H + j));
    const T gn = recurrent<LN>(rec, gam, 2 * H + j) + (b_hn ? b_hn[j] : T(0));
    const T n = tanh_<T>(x[2 * H + j] + r * gn);
    a[j] = r; a[H + j] = z; a[2 * H + j] = n; ghn[j] = gn;
    h1[j] = z * h0[j] + (T(1) - z) * n;
  }
}

// reset_before, first half: r and z from W_hh[r, z] h_rec (rec: 2H, already with its LN
// gain when there is one), and rh = r ⊙ h_rec, the input of the candidate's product.
template <typename T>
inline void gru_before_rz(int64_t H, const T* __restrict__ x, const T* __restrict__ rec,
                          const T* __restrict__ hrec, T* __restrict__ a, T* __restrict__ rh) {
  #pragma GCC ivdep
  for (int64_t j = 0; j < H; ++j) {
    const T r = sigm<T>(x[j] + rec[j]);
    a[j] = r;
    a[H + j] = sigm<T>(x[H + j] + rec[H + j]);
    rh[j] = r * hrec[j];
  }
}

// reset_before, second half: n = tanh(x_n + rec_n), rec_n = W_hn (r ⊙ h_rec) (+ b_hn in
// x_n; with LN, gain applied), and h = z ⊙ h_prev + (1 − z) ⊙ n. a holds [r, z, ·] (3H).
template <typename T>
inline void gru_before_n(int64_t H, const T* __restrict__ x_n, const T* __restrict__ rec_n,
                         const T* __restrict__ h0, T* __restrict__ a, T* __restrict__ h1) {
  #pragma GCC ivdep
  for (int64_t j = 0; j < H; ++j) {
    const T z = a[H + j];
    const T n = tanh_<T>(x_n[j] + rec_n[j]);
    a[2 * H + j] = n;
    h1[j] = z * h0[j] + (T(1) - z) * n;
  }
}

// Backward of gru_after_gates: from d (grad of h, H) and the saved a = [r, z, n] and
// ghn = rec_n + b_hn, the pre-activation grads dx (3H: the input part) and dg (3H: the
// recurrent part, [dar, daz, dan ⊙ r]); adds the direct z ⊙ d into dp (grad of h_prev).
template <typename T>
inline void gru_after_gates_back(int64_t H, const T* __restrict__ a, const T* __restrict__ ghn,
                                 const T* __restrict__ h0, const T* __restrict__ d,
                                 T* __restrict__ dx, T* __restrict__ dg, T* __restrict__ dp) {
  #pragma GCC ivdep
  for (int64_t j = 0; j < H; ++j) {
    const T r = a[j], z = a[H + j], n = a[2 * H + j];
    const T dan = d[j] * (T(1) - z) * (T(1) - n * n);
    const T daz = d[j] * (h0[j] - n) * z * (T(1) - z);
    const T dar = dan * ghn[j] * r * (T(1) - r);
    dp[j] += d[j] * z;
    dx[j] = dar; dx[H + j] = daz; dx[2 * H + j] = dan;
    dg[j] = dar; dg[H + j] = daz; dg[2 * H + j] = dan * r;
  }
}

// Backward of gru_before_n: the z and n pre-activation grads (dx[H:3H]); adds z ⊙ d
// into dp.
template <typename T>
inline void gru_before_n_back(int64_t H, const T* __restrict__ a, const T* __restrict__ h0,
                              const T* __restrict__ d, T* __restrict__ dx, T* __restrict__ dp) {
  #pragma GCC ivdep
  for (int64_t j = 0; j < H; ++j) {
    const T z = a[H + j], n = a[2 * H + j];
    dx[H + j] = d[j] * (h0[j] - n) * z * (T(1) - z);
    dx[2 * H + j] = d[j] * (T(1) - z) * (T(1) - n * n);
    dp[j] += d[j] * z;
  }
}

// Backward of gru_before_rz's rh = r ⊙ h_rec: q holds the grad of rh on entry; writes the
// r pre-activation grad dx[0:H] and leaves in q the grad reaching h_rec through rh.
template <typename T>
inline void gru_before_r_back(int64_t H, const T* __restrict__ a, const T* __restrict__ hrec,
                              T* __restrict__ dx, T* __restrict__ q) {
  #pragma GCC ivdep
  for (int64_t j = 0; j < H; ++j) {
    const T r = a[j];
    dx[j] = q[j] * hrec[j] * r * (T(1) - r);
    q[j] *= r;
  }
}

// ---- Elman RNN (rnnkit.cells.rnn): h = act(x + rec), act = relu or tanh -------------------
template <typename T, bool RELU>
inline T rnn_act(T v) {
  if constexpr (RELU) return v > T(0) ? v : T(0);
  return tanh_<T>(v);
}

// h (n) = act(x + rec).
template <typename T, bool RELU, bool LN>
inline void rnn_gates(int64_t n, const T* __restrict__ x, const T* __restrict__ rec,
                      const T* __restrict__ gam, T* __restrict__ h) {
  #pragma GCC ivdep
  for (int64_t j = 0; j < n; ++j) h[j] = rnn_act<T, RELU>(x[j] + recurrent<LN>(rec, gam, j));
}

// Backward: da = dh ⊙ act'(a), from the saved activation h = act(a).
template <typename T, bool RELU>
inline void rnn_gates_back(int64_t n, const T* __restrict__ h, const T* __restrict__ dh,
                           T* __restrict__ da) {
  #pragma GCC ivdep
  for (int64_t j = 0; j < n; ++j) {
    if constexpr (RELU) da[j] = h[j] > T(0) ? dh[j] : T(0);
    else da[j] = dh[j] * (T(1) - h[j] * h[j]);
  }
}

// Runs f(std::bool_constant<a>{}, std::bool_constant<b>{}): the runtime flags as template
// arguments, one instance per combination.
template <typename F>
inline void with_flags(bool a, bool b, F&& f) {
  if (a) {
    if (b) f(std::true_type{}, std::true_type{});
    else f(std::true_type{}, std::false_type{});
  } else {
    if (b) f(std::false_type{}, std::true_type{});
    else f(std::false_type{}, std::false_type{});
  }
}

}  // namespace rnnkit
