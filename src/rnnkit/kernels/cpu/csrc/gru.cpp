// GRU time loop and its BPTT, both reset placements (rnnkit.cells.gru), gates r, z, n; the
// gate math is cells.h's gru_* functions.
// xg_t = W_ih x_t + b_ih + b_hh[r, z] (+ b_hh[n] when reset_before), hoisted; h_rec = h ⊙ rec_mask.
//   reset_after:  [gr, gz, gn] = W_hh h_rec,  r = σ(xg_r + gr), z = σ(xg_z + gz),
//                 n = tanh(xg_n + r ⊙ (gn + b_hn))
//   reset_before: r, z as above from W_hh[r, z] h_rec,  n = tanh(xg_n + W_hn (r ⊙ h_rec))
//   h = z ⊙ h_prev + (1 − z) ⊙ n          then zoneout and the mask (common.h).
// With layer normalisation (rnnkit.cells.gru) xg_t = LN(W_ih x_t) ⊙ γ_ih + the biases
// (kernel.py), and the recurrent products enter as LN(·) ⊙ γ_hh: [gr, gz] normalised
// over its 2H, gn (W_hn h_rec, or W_hn (r ⊙ h_rec)) over its H.
#include "cells.h"
#include "common.h"

namespace rnnkit {

template <typename T>
void gru_forward(Seq<T>& s) {
  const int64_t B = s.B, H = s.H, G = 3 * H, Tn = s.T_;
  const int64_t BS = s.bs;  // rows per time step in the (T, B, ·) arrays
  const int64_t rev = s.reverse ? 1 : 0;
  T* gh = s.ws;              // (B, 3H)
  T* hrec = gh + B * G;      // (B, H)
  T* a_ws = hrec + B * H;    // (B, 3H)
  T* aux_ws = a_ws + B * G;  // (B, H)
  T* hcell = aux_ws + B * H; // (B, H)
  const T* Wn = s.w_hh + 2 * H * H;
  const bool ra = s.reset_after;
  const bool ln = s.ln_hh != nullptr;
  const T* gam = s.ln_hh;
  const WeightGemm<T> Wall(true, B, G, H, s.w_hh, H, s.pack() && ra);      // h_rec W_hh^T
  const WeightGemm<T> Wrz(true, B, 2 * H, H, s.w_hh, H, s.pack() && !ra);  // h_rec W_hh[r,z]^T
  const WeightGemm<T> Wnn(true, B, H, H, Wn, H, s.pack() && !ra);          // (r ⊙ h_rec) W_hn^T
  for (int64_t step = 0; step < Tn; ++step) {
    const int64_t t = s.reverse ? Tn - 1 - step : step;
    const T* hp = s.hs + s.slot(t + rev) * BS * H;
    T* hn = s.hs + s.slot(t + 1 - rev) * BS * H;
    const T* hr = recurrent_input(s, hp, hrec);
    T* A = s.save ? s.act + t * BS * G : a_ws;
    T* X = s.save ? s.aux + t * BS * H : aux_ws;  // gn + b_hn, or r ⊙ h_rec
    if (s.reset_after) {
      Wall(hr, H, T(0), gh, G);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t tb = t * BS + b;
        const T* rec = gh + b * G;
        if (ln) {  // [gr, gz] normalised over 2H, gn over H; in place when not saving
          T* xh = s.save ? s.ln_xh + tb * G : gh + b * G;
          const T r1 = ln_row(rec, 2 * H, s.eps, xh);
          const T r2 = ln_row(rec + 2 * H, H, s.eps, xh + 2 * H);
          if (s.save) { s.ln_rh[2 * tb] = r1; s.ln_rh[2 * tb + 1] = r2; }
          rec = xh;
        }
        const T* x = s.xg + tb * G;
        const T* h0 = hp + b * H;
        if (ln) gru_after_gates<T, true>(H, x, rec, gam, s.b_hn, h0, A + b * G, X + b * H,
                                         hcell + b * H);
        else gru_after_gates<T, false>(H, x, rec, gam, s.b_hn, h0, A + b * G, X + b * H,
                                       hcell + b * H);
      }
    } else {
      Wrz(hr, H, T(0), gh, G);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t tb = t * BS + b;
        if (ln) {  // q = γ ⊙ LN(gh_rz), in place over gh (saved copy first)
          T* q = gh + b * G;
          T* xh = s.save ? s.ln_xh + tb * G : q;
          const T r1 = ln_row(q, 2 * H, s.eps, xh);
          if (s.save) s.ln_rh[2 * tb] = r1;
          #pragma GCC ivdep
          for (int64_t j = 0; j < 2 * H; ++j) q[j] = gam[j] * xh[j];
        }
        gru_before_rz(H, s.xg + tb * G, gh + b * G, hr + b * H, A + b * G, X + b * H);
      }
      Wnn(X, H, T(0), gh + 2 * H, G);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t tb = t * BS + b;
        if (ln) {  // the candidate's product, normalised over its H
          T* q = gh + b * G + 2 * H;
          T* xh = s.save ? s.ln_xh + tb * G + 2 * H : q;
          const T r2 = ln_row(q, H, s.eps, xh);
          if (s.save) s.ln_rh[2 * tb + 1] = r2;
          #pragma GCC ivdep
          for (int64_t j = 0; j < H; ++j) q[j] = gam[2 * H + j] * xh[j];
        }
        gru_before_n(H, s.xg + tb * G + 2 * H, gh + b * G + 2 * H, hp + b * H, A + b * G,
                     hcell + b * H);
      }
    }
    settle(s, t, H, hp, hcell, s.zone_h, s.zh, s.zoned_h(), hn, s.out + t * BS * H);
  }
}

// LN backward of row (t, b), for columns [lo·H, hi·H) of the 3H: the segments
// [r, z] (0, 2) and n (2, 3). dpost: grad of γ ⊙ LN(·) there; writes the grad
// before the LN into dghp and adds to the γ grads. Masked rows: zeros (their
// dpost is 0, but the row is skipped rather than trusted).
template <typename T>
inline void ln_rows_back(Seq<T>& s, int64_t t, int64_t b, const T* dpost, int lo, int hi) {
  const int64_t H = s.H, G = 3 * H, tb = t * s.bs + b;
  T* dpre = s.dghp + tb * G;
  if (!s.valid(t, b)) {
    std::memset(dpre + lo * H, 0, sizeof(T) * (hi - lo) * H);
    return;
  }
  const T* __restrict__ xh = s.ln_xh + tb * G;
  double* __restrict__ gg = s.d_lnhh;
  #pragma GCC ivdep
  for (int64_t j = lo * H; j < hi * H; ++j) gg[j] += double(dpost[j] * xh[j]);
  if (lo == 0 && hi >= 2)
    ln_row_backward(dpost, s.ln_hh, xh, s.ln_rh[2 * tb], 2 * H, dpre);
  if (hi == 3 && lo <= 2)
    ln_row_backward(dpost + 2 * H, s.ln_hh + 2 * H, xh + 2 * H, s.ln_rh[2 * tb + 1], H,
                    dpre + 2 * H);
}

template <typename T>
void gru_backward(Seq<T>& s) {
  const int64_t B = s.B, H = s.H, G = 3 * H, Tn = s.T_;
  const int64_t BS = s.bs;  // rows per time step in the (T, B, ·) arrays
  const int64_t rev = s.reverse ? 1 : 0;
  T* dH = s.ws;               // (B, H)
  T* dHp = dH + B * H;        // (B, H)
  T* dcell = dHp + B * H;     // (B, H)
  T* tmp = dcell + B * H;     // (B, H)
  T* drh = tmp + B * H;       // (B, H) grad of r ⊙ h_rec (reset_before)
  T* hrec = drh + B * H;      // (B, H)
  const T* Wn = s.w_hh + 2 * H * H;
  const bool ra = s.reset_after;
  const bool ln = s.ln_hh != nullptr;
  const WeightGemm<T> Wall(false, B, H, G, s.w_hh, H, s.pack() && ra);      // dG W_hh
  const WeightGemm<T> Wrz(false, B, H, 2 * H, s.w_hh, H, s.pack() && !ra);  // dA_rz W_hh[r,z]
  const WeightGemm<T> Wnn(false, B, H, H, Wn, H, s.pack() && !ra);          // dA_n W_hn
  #pragma GCC ivdep
  for (int64_t i = 0; i < B * H; ++i) dH[i] = s.dhN ? s.dhN[i] : T(0);
  for (int64_t step = 0; step < Tn; ++step) {
    const int64_t t = s.reverse ? step : Tn - 1 - step;
    const T* hp = s.hs + (t + rev) * BS * H;
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
    const T* A = s.act + t * BS * G;
    const T* X = s.aux + t * BS * H;
    T* dX = s.dxg + t * BS * G;
    if (s.reset_after) {
      T* dG = s.dgh + t * BS * G;
      for (int64_t b = 0; b < B; ++b) {
        T* __restrict__ dx = dX + b * G;
        T* __restrict__ dg = dG + b * G;
        if (!s.valid(t, b)) {
          std::memset(dx, 0, sizeof(T) * G);
          std::memset(dg, 0, sizeof(T) * G);
          continue;
        }
        gru_after_gates_back(H, A + b * G, X + b * H, hp + b * H, dcell + b * H, dx, dg,
                             dHp + b * H);
      }
      if (ln) {
        for (int64_t b = 0; b < B; ++b) ln_rows_back(s, t, b, dG + b * G, 0, 3);
        back_through_whh(s, s.dghp + t * BS * G, G, Wall, dHp, tmp);
      } else {
        back_through_whh(s, dG, G, Wall, dHp, tmp);
      }
    } else {
      const T* hr = recurrent_input(s, hp, hrec);
      for (int64_t b = 0; b < B; ++b) {
        T* __restrict__ dx = dX + b * G;
        if (!s.valid(t, b)) {
          std::memset(dx, 0, sizeof(T) * G);
          continue;
        }
        gru_before_n_back(H, A + b * G, hp + b * H, dcell + b * H, dx, dHp + b * H);
      }
      // d(r ⊙ h_rec) = dan · W_hn (with LN: the grad of W_hn (r ⊙ h_rec) before it)
      if (ln) {
        for (int64_t b = 0; b < B; ++b) ln_rows_back(s, t, b, dX + b * G, 2, 3);
        Wnn(s.dghp + t * BS * G + 2 * H, G, T(0), drh, H);
      } else {
        Wnn(dX + 2 * H, G, T(0), drh, H);
      }
      for (int64_t b = 0; b < B; ++b) {
        T* __restrict__ dx = dX + b * G;
        T* __restrict__ q = drh + b * H;
        if (!s.valid(t, b)) {
          std::memset(q, 0, sizeof(T) * H);
          continue;
        }
        gru_before_r_back(H, A + b * G, hr + b * H, dx, q);
      }
      // grad of h_rec = dA_rz · W_hh[r, z] + r ⊙ d(r ⊙ h_rec), then through the dropout mask
      if (ln) {
        for (int64_t b = 0; b < B; ++b) ln_rows_back(s, t, b, dX + b * G, 0, 2);
        Wrz(s.dghp + t * BS * G, G, T(1), drh, H);
      } else {
        Wrz(dX, G, T(1), drh, H);
      }
      if (s.rec_mask) {
        #pragma GCC ivdep
        for (int64_t i = 0; i < B * H; ++i) dHp[i] += drh[i] * s.rec_mask[i];
      } else {
        #pragma GCC ivdep
        for (int64_t i = 0; i < B * H; ++i) dHp[i] += drh[i];
      }
    }
    std::swap(dH, dHp);
  }
  std::memcpy(s.dh0, dH, sizeof(T) * B * H);
}

template void gru_forward<float>(Seq<float>&);
template void gru_forward<double>(Seq<double>&);
template void gru_backward<float>(Seq<float>&);
template void gru_backward<double>(Seq<double>&);

}  // namespace rnnkit
