// GRU time loop and its BPTT, both reset placements (rnnkit.cells.gru), gates r, z, n.
// xg_t = W_ih x_t + b_ih + b_hh[r, z] (+ b_hh[n] when reset_before), hoisted; h_rec = h ⊙ rec_mask.
//   reset_after:  [gr, gz, gn] = W_hh h_rec,  r = σ(xg_r + gr), z = σ(xg_z + gz),
//                 n = tanh(xg_n + r ⊙ (gn + b_hn))
//   reset_before: r, z as above from W_hh[r, z] h_rec,  n = tanh(xg_n + W_hn (r ⊙ h_rec))
//   h = z ⊙ h_prev + (1 − z) ⊙ n          then zoneout and the mask (common.h).
#include "common.h"

namespace rnnkit {

template <typename T>
void gru_forward(Seq<T>& s) {
  const int64_t B = s.B, H = s.H, G = 3 * H, Tn = s.T_;
  const int64_t rev = s.reverse ? 1 : 0;
  T* gh = s.ws;              // (B, 3H)
  T* hrec = gh + B * G;      // (B, H)
  T* a_ws = hrec + B * H;    // (B, 3H)
  T* aux_ws = a_ws + B * G;  // (B, H)
  T* hcell = aux_ws + B * H; // (B, H)
  const T* Wn = s.w_hh + 2 * H * H;
  const bool ra = s.reset_after;
  const WeightGemm<T> Wall(true, B, G, H, s.w_hh, H, s.pack() && ra);      // h_rec W_hh^T
  const WeightGemm<T> Wrz(true, B, 2 * H, H, s.w_hh, H, s.pack() && !ra);  // h_rec W_hh[r,z]^T
  const WeightGemm<T> Wnn(true, B, H, H, Wn, H, s.pack() && !ra);          // (r ⊙ h_rec) W_hn^T
  for (int64_t step = 0; step < Tn; ++step) {
    const int64_t t = s.reverse ? Tn - 1 - step : step;
    const T* hp = s.hs + s.slot(t + rev) * B * H;
    T* hn = s.hs + s.slot(t + 1 - rev) * B * H;
    const T* hr = recurrent_input(s, hp, hrec);
    T* A = s.save ? s.act + t * B * G : a_ws;
    T* X = s.save ? s.aux + t * B * H : aux_ws;  // gn + b_hn, or r ⊙ h_rec
    if (s.reset_after) {
      Wall(hr, H, T(0), gh, G);
      for (int64_t b = 0; b < B; ++b) {
        const T* __restrict__ x = s.xg + (t * B + b) * G;
        const T* __restrict__ q = gh + b * G;
        const T* __restrict__ h0 = hp + b * H;
        T* __restrict__ a = A + b * G;
        T* __restrict__ ghn = X + b * H;
        T* __restrict__ h1 = hcell + b * H;
        #pragma GCC ivdep
        for (int64_t j = 0; j < H; ++j) {
          const T r = sigm<T>(x[j] + q[j]);
          const T z = sigm<T>(x[H + j] + q[H + j]);
          const T gn = q[2 * H + j] + (s.b_hn ? s.b_hn[j] : T(0));
          const T n = tanh_<T>(x[2 * H + j] + r * gn);
          a[j] = r; a[H + j] = z; a[2 * H + j] = n; ghn[j] = gn;
          h1[j] = z * h0[j] + (T(1) - z) * n;
        }
      }
    } else {
      Wrz(hr, H, T(0), gh, G);
      for (int64_t b = 0; b < B; ++b) {
        const T* __restrict__ x = s.xg + (t * B + b) * G;
        const T* __restrict__ q = gh + b * G;
        const T* __restrict__ h0 = hr + b * H;
        T* __restrict__ a = A + b * G;
        T* __restrict__ rh = X + b * H;
        #pragma GCC ivdep
        for (int64_t j = 0; j < H; ++j) {
          const T r = sigm<T>(x[j] + q[j]);
          a[j] = r;
          a[H + j] = sigm<T>(x[H + j] + q[H + j]);
          rh[j] = r * h0[j];
        }
      }
      Wnn(X, H, T(0), gh + 2 * H, G);
      for (int64_t b = 0; b < B; ++b) {
        const T* __restrict__ x = s.xg + (t * B + b) * G;
        const T* __restrict__ q = gh + b * G;
        const T* __restrict__ h0 = hp + b * H;
        T* __restrict__ a = A + b * G;
        T* __restrict__ h1 = hcell + b * H;
        #pragma GCC ivdep
        for (int64_t j = 0; j < H; ++j) {
          const T z = a[H + j];
          const T n = tanh_<T>(x[2 * H + j] + q[2 * H + j]);
          a[2 * H + j] = n;
          h1[j] = z * h0[j] + (T(1) - z) * n;
        }
      }
    }
    settle(s, t, H, hp, hcell, s.zone_h, s.zh, s.zoned_h(), hn, s.out + t * B * H);
  }
}

template <typename T>
void gru_backward(Seq<T>& s) {
  const int64_t B = s.B, H = s.H, G = 3 * H, Tn = s.T_;
  const int64_t rev = s.reverse ? 1 : 0;
  T* dH = s.ws;               // (B, H)
  T* dHp = dH + B * H;        // (B, H)
  T* dcell = dHp + B * H;     // (B, H)
  T* tmp = dcell + B * H;     // (B, H)
  T* drh = tmp + B * H;       // (B, H) grad of r ⊙ h_rec (reset_before)
  T* hrec = drh + B * H;      // (B, H)
  const T* Wn = s.w_hh + 2 * H * H;
  const bool ra = s.reset_after;
  const WeightGemm<T> Wall(false, B, H, G, s.w_hh, H, s.pack() && ra);      // dG W_hh
  const WeightGemm<T> Wrz(false, B, H, 2 * H, s.w_hh, H, s.pack() && !ra);  // dA_rz W_hh[r,z]
  const WeightGemm<T> Wnn(false, B, H, H, Wn, H, s.pack() && !ra);          // dA_n W_hn
  #pragma GCC ivdep
  for (int64_t i = 0; i < B * H; ++i) dH[i] = s.dhN ? s.dhN[i] : T(0);
  for (int64_t step = 0; step < Tn; ++step) {
    const int64_t t = s.reverse ? step : Tn - 1 - step;
    const T* hp = s.hs + (t + rev) * B * H;
    if (s.dout != nullptr) {
      for (int64_t b = 0; b < B; ++b) {
        if (!s.valid(t, b)) continue;
        const T* __restrict__ d = s.dout + (t * B + b) * H;
        T* __restrict__ h = dH + b * H;
        #pragma GCC ivdep
        for (int64_t j = 0; j < H; ++j) h[j] += d[j];
      }
    }
    unsettle(s, t, H, dH, s.zone_h, s.zh, s.zoned_h(), dHp, dcell);
    const T* A = s.act + t * B * G;
    const T* X = s.aux + t * B * H;
    T* dX = s.dxg + t * B * G;
    if (s.reset_after) {
      T* dG = s.dgh + t * B * G;
      for (int64_t b = 0; b < B; ++b) {
        T* __restrict__ dx = dX + b * G;
        T* __restrict__ dg = dG + b * G;
        if (!s.valid(t, b)) {
          std::memset(dx, 0, sizeof(T) * G);
          std::memset(dg, 0, sizeof(T) * G);
          continue;
        }
        const T* __restrict__ a = A + b * G;
        const T* __restrict__ ghn = X + b * H;
        const T* __restrict__ h0 = hp + b * H;
        const T* __restrict__ d = dcell + b * H;
        T* __restrict__ dp = dHp + b * H;
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
      back_through_whh(s, dG, G, Wall, dHp, tmp);
    } else {
      const T* hr = recurrent_input(s, hp, hrec);
      for (int64_t b = 0; b < B; ++b) {
        T* __restrict__ dx = dX + b * G;
        if (!s.valid(t, b)) {
          std::memset(dx, 0, sizeof(T) * G);
          continue;
        }
        const T* __restrict__ a = A + b * G;
        const T* __restrict__ h0 = hp + b * H;
        const T* __restrict__ d = dcell + b * H;
        T* __restrict__ dp = dHp + b * H;
        #pragma GCC ivdep
        for (int64_t j = 0; j < H; ++j) {
          const T z = a[H + j], n = a[2 * H + j];
          dx[H + j] = d[j] * (h0[j] - n) * z * (T(1) - z);
          dx[2 * H + j] = d[j] * (T(1) - z) * (T(1) - n * n);
          dp[j] += d[j] * z;
        }
      }
      // d(r ⊙ h_rec) = dan · W_hn
      Wnn(dX + 2 * H, G, T(0), drh, H);
      for (int64_t b = 0; b < B; ++b) {
        T* __restrict__ dx = dX + b * G;
        T* __restrict__ q = drh + b * H;
        if (!s.valid(t, b)) {
          std::memset(q, 0, sizeof(T) * H);
          continue;
        }
        const T* __restrict__ a = A + b * G;
        const T* __restrict__ h0 = hr + b * H;
        #pragma GCC ivdep
        for (int64_t j = 0; j < H; ++j) {
          const T r = a[j];
          dx[j] = q[j] * h0[j] * r * (T(1) - r);
          q[j] *= r;  // now the grad reaching h_rec through r ⊙ h_rec
        }
      }
      // grad of h_rec = dA_rz · W_hh[r, z] + r ⊙ d(r ⊙ h_rec), then through the dropout mask
      Wrz(dX, G, T(1), drh, H);
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
