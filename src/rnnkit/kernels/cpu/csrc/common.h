// Shared pieces of rnnkit's fused CPU kernels: the GEMM entry point, the
// activations, and the description of one (layer, direction) sequence.
//
// The kernel files include only this header (no ATen), so they compile in a
// few seconds; binding.cpp turns tensors into the raw pointers used here.
//
// Layout conventions (all row-major, all contiguous):
//   T steps, B batch rows, H hidden units, P state size (proj_size or H), G gates.
//   xg   (T, B, G*H)   the hoisted input projection W_ih x_t plus foldable biases
//   w_hh (G*H, P)      torch.nn's layout
//   State histories hs (T+1, B, P) / cs (T+1, B, H) are indexed by input time:
//   the state before step t sits at t + rev and the state after it at t + 1 - rev,
//   so hs[rev : rev + T] lines up with x's time axis for both directions.
//   Without `save` the histories are two ping-pong slots (index & 1).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace rnnkit {

// Row-major C (M, N) = alpha * op(A) op(B) + beta * C, op = transpose when t* is true.
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
          int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc);
const char* blas_name();
// C (M, N) = A (M, K) W^T, W stored (N, K): the streaming steps' products. Rows of A are
// few (M <= 2 takes AVX-512 dot products where the CPU has them), else gemm above.
// (WeightGemm uses the same products for one or two rows when W fits in L2.)
void gemm_rows_nt(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* W,
                  int64_t ldw, float* C, int64_t ldc);
void gemm_rows_nt(int64_t M, int64_t N, int64_t K, const double* A, int64_t lda,
                  const double* W, int64_t ldw, double* C, int64_t ldc);

// Repeated products with one fixed weight: C (M, N) = A (M, K) op(W) + beta * C,
// op(W) = W^T when tw (W stored (N, K)), else W (stored (K, N)). With MKL
// (float) the weight is packed once (cblas_sgemm_pack), so the per-step GEMMs
// skip re-packing it: that copy costs as much as the product at small B.
template <typename T>
class WeightGemm {
 public:
  WeightGemm(bool tw, int64_t M, int64_t N, int64_t K, const T* W, int64_t ldw, bool pack);
  ~WeightGemm();
  WeightGemm(const WeightGemm&) = delete;
  WeightGemm& operator=(const WeightGemm&) = delete;
  void operator()(const T* A, int64_t lda, T beta, T* C, int64_t ldc) const;

 private:
  bool tw_;
  int64_t M_, N_, K_, ldw_;
  const T* W_;
  void* packed_ = nullptr;
};

// ---- activations -----------------------------------------------------------
// float: a branch-free exp (Cody-Waite reduction + degree-7 polynomial, ~1 ulp)
// that GCC vectorises inside the gate loops; glibc's expf is a call per element.
// double: libm, so that gradcheck's finite differences see an exact function.
// e^x for x in [-87, 88] (no clamps: the callers clamp once); NaN gives NaN.
inline float exp_core(float x) {
  // floor(y + 0.5) as a truncation of a positive number (y >= -126 here); written with
  // an int conversion, as std::floor stays a call without -ffast-math. A NaN x converts
  // to whatever the CPU gives (x86: INT_MIN, Arm: 0) and stays NaN through r; the integer
  // steps are unsigned, so that they wrap instead of overflowing. (Replacing NaN before
  // the conversion cost 9% of a gate loop.)
  const float y = x * 1.44269504088896341f + 256.5f;
  const uint32_t ui = static_cast<uint32_t>(static_cast<int32_t>(y)) - 256u;
  const float n = static_cast<float>(static_cast<int32_t>(ui));
  float r = x - n * 0.693359375f;  // ln 2 split in two for an exact reduction
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const uint32_t bits = (ui + 127u) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(float));
  return p * scale;
}

// float 1 / d for d in [1, 1e35]: an integer first guess and Newton steps, the last
// one fused, within 1 ulp. A vector division costs ~16 cycles on AVX-512 and was
// most of the time of the LSTM gate loops; these are six FMAs.
inline float recip(float d) {
  int32_t bits;
  std::memcpy(&bits, &d, sizeof(float));
  bits = 0x7EF311C3 - bits;
  float r;
  std::memcpy(&r, &bits, sizeof(float));
  r = r * (2.0f - d * r);
  r = r * (2.0f - d * r);
  const float e = std::fma(-d, r, 1.0f);
  return std::fma(r, e, r);
}

template <typename T> inline T sigm(T x);
template <> inline float sigm<float>(float x) {
  // σ(-80) ≈ 1.8e-35 keeps 1 + e^{-x} in recip's range; σ(87) is 1.0f already
  x = x < -80.0f ? -80.0f : x;
  x = x > 87.0f ? 87.0f : x;
  return recip(1.0f + exp_core(-x));
}
template <> inline double sigm<double>(double x) { return 1.0 / (1.0 + std::exp(-x)); }

template <typename T> inline T tanh_(T x);
template <> inline float tanh_<float>(float x) {
  // 2 σ(2x) − 1: one exp and one reciprocal. Near 0 this is exact to ~1e-7 absolute
  // (not relative): below float32 parity's 2e-5, and the gradients use the saved values.
  return 2.0f * sigm<float>(2.0f * x) - 1.0f;
}
template <> inline double tanh_<double>(double x) { return std::tanh(x); }

// ---- one (layer, direction) sequence ------------------------------------------
enum Mode { RNN_TANH = 0, RNN_RELU = 1, LSTM = 2, GRU = 3 };

// Gates per mode: the C++ side's one statement of rnnkit.cells.family's gate counts
// (the gate math in cells.h fixes them; tests/kernels/cpu/test_native_args.py checks this
// against the family table through the shapes the boundary accepts).
inline int64_t gate_count(Mode mode) { return mode == LSTM ? 4 : (mode == GRU ? 3 : 1); }

template <typename T>
struct Seq {
  int64_t T_ = 0, B = 0, H = 0, P = 0;
  // Rows between one time step and the next in the (T, B, ·) arrays: B, or the full
  // batch when this Seq is a slice of it (batch_slice, run on its own thread).
  int64_t bs = 0;
  int mode = LSTM;
  bool reverse = false, reset_after = true, save = false;
  const T* xg = nullptr;        // (T, B, G*H)
  const T* w_hh = nullptr;      // (G*H, P)
  const T* b_hn = nullptr;      // (H) GRU reset_after: the bias inside r ⊙ (·)
  const T* w_ci = nullptr;      // (H) peepholes, or null
  const T* w_cf = nullptr;
  const T* w_co = nullptr;
  const T* w_hr = nullptr;      // (P, H) LSTM projection, or null
  const bool* mask = nullptr;   // (T, B), true = valid step, or null
  const T* rec_mask = nullptr;  // (B, P) recurrent dropout keep mask (scaled), or null
  const T* zone_h = nullptr;    // (T, B, P) zoneout keep mask (1 = keep old), or null
  const T* zone_c = nullptr;    // (T, B, H)
  T zh = 0, zc = 0;             // eval-mode zoneout probability when no mask is given
  // LSTM layer normalisation (Ba et al. 2016), all null without it; see lstm.cpp
  const T* ln_hh = nullptr;     // (4H) γ_hh on LN(W_hh h_rec)
  const T* ln_cw = nullptr;     // (H) γ_c on LN(c_t)
  const T* ln_cb = nullptr;     // (H) β_c
  T eps = T(1e-5);
  T* ln_xh = nullptr;           // (T, B, 4H) saved LN(W_hh h_rec), before γ_hh
  T* ln_rh = nullptr;           // (T, B) its 1 / sqrt(var + eps); GRU: (T, B, 2), [r,z] and n
  T* ln_xc = nullptr;           // (T, B, H) saved LN(c_t), before γ_c
  T* ln_rc = nullptr;           // (T, B) its 1 / sqrt(var + eps)
  // forward outputs
  T* out = nullptr;             // (T, B, P) aligned with input time, zeros at masked steps
  T* hs = nullptr;              // (T+1, B, P) or (2, B, P)
  T* cs = nullptr;              // (T+1, B, H) or (2, B, H)
  // saved for backward (only when save)
  T* act = nullptr;             // (T, B, G*H) gate activations
  T* aux = nullptr;             // (T, B, H) LSTM: c_t before zoneout; GRU: W_hn h + b_hn or r ⊙ h_rec
  T* aux2 = nullptr;            // (T, B, H) LSTM: tanh(c_t)
  T* ws = nullptr;              // workspace, see workspace_size
  // backward
  const T* dout = nullptr;      // (T, B, P) or null
  const T* dhN = nullptr;       // (B, P) or null
  const T* dcN = nullptr;       // (B, H) or null
  T* dxg = nullptr;             // (T, B, G*H)
  T* dgh = nullptr;             // (T, B, G*H) GRU reset_after: grad of W_hh h + [0, 0, b_hn]
                                //   (after the LN); LSTM, RNN with LN: grad of W_hh h_rec
  T* dghp = nullptr;            // (T, B, G*H) GRU with LN: grad of the W_hh products before it
  T* dy = nullptr;              // (T, B, P) LSTM projection: grad of W_hr (o ⊙ tanh c)
  // LSTM LN gain grads, summed over (t, b) while the rows are in cache; double
  // accumulators, as T * B float terms would lose digits to a running float sum
  double* d_lnhh = nullptr;     // (4H) Σ da ⊙ LN(W_hh h_rec)
  double* d_lncw = nullptr;     // (H) Σ dcn ⊙ LN(c)
  double* d_lncb = nullptr;     // (H) Σ dcn, dcn = grad of LN(c) ⊙ γ_c + β_c
  T* dh0 = nullptr;             // (B, P)
  T* dc0 = nullptr;             // (B, H)

  int64_t gates() const { return gate_count(Mode(mode)); }
  int64_t slot(int64_t i) const { return save ? i : (i & 1); }
  bool valid(int64_t t, int64_t b) const { return mask == nullptr || mask[t * bs + b]; }
  bool zoned_h() const { return zone_h != nullptr || zh != T(0); }
  bool zoned_c() const { return zone_c != nullptr || zc != T(0); }
  bool pack() const { return T_ >= 4; }
};

inline int64_t workspace_size(int64_t B, int64_t H, int64_t P, int64_t G) {
  return B * (2 * G * H + 6 * P + 7 * H);
}

template <typename T> void lstm_forward(Seq<T>& s);
template <typename T> void lstm_backward(Seq<T>& s);
template <typename T> void gru_forward(Seq<T>& s);
template <typename T> void gru_backward(Seq<T>& s);
template <typename T> void rnn_forward(Seq<T>& s);
template <typename T> void rnn_backward(Seq<T>& s);

// ---- layer normalisation of one row (Ba et al. 2016), biased variance ------------
// Sums with 16 independent accumulators: without -ffast-math GCC may not
// reorder a single running sum, which then runs at one add per FP latency and
// cost more than the rest of the LN step; 16 lanes vectorise.
constexpr int kLanes = 16;

// Σ_j f(j) for j < n.
template <typename T, typename F>
inline T lane_sum(int64_t n, F f) {
  T acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    #pragma GCC unroll 16
    for (int k = 0; k < kLanes; ++k) acc[k] += f(j + k);
  }
  T tail = 0;
  for (; j < n; ++j) tail += f(j);
  for (int k = 0; k < kLanes; ++k) tail += acc[k];
  return tail;
}

// xhat = (v − mean) / sqrt(var + eps) into out (may alias v); returns 1 / sqrt(var + eps).
template <typename T>
inline T ln_row(const T* v, int64_t n, T eps, T* out) {
  const T mean = lane_sum<T>(n, [&](int64_t j) { return v[j]; }) / T(n);
  const T var = lane_sum<T>(n, [&](int64_t j) { const T d = v[j] - mean; return d * d; }) / T(n);
  const T rstd = T(1) / std::sqrt(var + eps);
  #pragma GCC ivdep
  for (int64_t j = 0; j < n; ++j) out[j] = (v[j] - mean) * rstd;
  return rstd;
}

// Backward of xhat = LN(v): dv = rstd (dxhat − mean(dxhat) − xhat mean(dxhat ⊙ xhat)),
// dxhat = dy ⊙ gamma. dv may alias dy.
template <typename T>
inline void ln_row_backward(const T* dy, const T* gamma, const T* xhat, T rstd, int64_t n,
                            T* dv) {
  const T m1 = lane_sum<T>(n, [&](int64_t j) { return dy[j] * gamma[j]; }) / T(n);
  const T m2 = lane_sum<T>(n, [&](int64_t j) { return dy[j] * gamma[j] * xhat[j]; }) / T(n);
  #pragma GCC ivdep
  for (int64_t j = 0; j < n; ++j) dv[j] = rstd * (dy[j] * gamma[j] - m1 - xhat[j] * m2);
}

// ---- the two places where zoneout and the mask meet the state -------------------
// Forward: new state = valid ? (k ⊙ old + (1 − k) ⊙ cell) : old; output = valid ? new : 0.
template <typename T>
inline void settle(const Seq<T>& s, int64_t t, int64_t n, const T* old, const T* cell,
                   const T* zone, T zconst, bool zoned, T* next, T* out) {
  for (int64_t b = 0; b < s.B; ++b) {
    const T* __restrict__ o = old + b * n;
    const T* __restrict__ c = cell + b * n;
    T* __restrict__ nx = next + b * n;
    T* __restrict__ y = out ? out + b * n : nullptr;
    if (!s.valid(t, b)) {
      std::memcpy(nx, o, sizeof(T) * n);
      if (y) std::memset(y, 0, sizeof(T) * n);
      continue;
    }
    if (!zoned) {
      std::memcpy(nx, c, sizeof(T) * n);
    } else if (zone) {
      const T* __restrict__ k = zone + (t * s.bs + b) * n;
      #pragma GCC ivdep
      for (int64_t j = 0; j < n; ++j) nx[j] = k[j] * o[j] + (T(1) - k[j]) * c[j];
    } else {
      #pragma GCC ivdep
      for (int64_t j = 0; j < n; ++j) nx[j] = zconst * o[j] + (T(1) - zconst) * c[j];
    }
    if (y) std::memcpy(y, nx, sizeof(T) * n);
  }
}

// Backward of settle: split the grad of the new state into the part that reaches
// the old state directly (prev, overwritten) and the part that reaches the cell.
template <typename T>
inline void unsettle(const Seq<T>& s, int64_t t, int64_t n, const T* dnew, const T* zone,
                     T zconst, bool zoned, T* prev, T* dcell) {
  for (int64_t b = 0; b < s.B; ++b) {
    const T* __restrict__ d = dnew + b * n;
    T* __restrict__ p = prev + b * n;
    T* __restrict__ c = dcell + b * n;
    if (!s.valid(t, b)) {
      std::memcpy(p, d, sizeof(T) * n);
      std::memset(c, 0, sizeof(T) * n);
    } else if (!zoned) {
      std::memset(p, 0, sizeof(T) * n);
      std::memcpy(c, d, sizeof(T) * n);
    } else if (zone) {
      const T* __restrict__ k = zone + (t * s.bs + b) * n;
      #pragma GCC ivdep
      for (int64_t j = 0; j < n; ++j) { p[j] = k[j] * d[j]; c[j] = (T(1) - k[j]) * d[j]; }
    } else {
      #pragma GCC ivdep
      for (int64_t j = 0; j < n; ++j) { p[j] = zconst * d[j]; c[j] = (T(1) - zconst) * d[j]; }
    }
  }
}

// prev (B, P) += (dA (B, rows) · W (rows, P)) ⊙ rec_mask; tmp is (B, P) scratch.
template <typename T>
inline void back_through_whh(const Seq<T>& s, const T* dA, int64_t lda, const WeightGemm<T>& W,
                             T* prev, T* tmp) {
  const int64_t n = s.B * s.P;
  if (s.rec_mask == nullptr) {
    W(dA, lda, T(1), prev, s.P);
    return;
  }
  W(dA, lda, T(0), tmp, s.P);
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) prev[i] += tmp[i] * s.rec_mask[i];
}

// h_rec = h ⊙ rec_mask (Gal & Ghahramani 2016), or h itself.
template <typename T>
inline const T* recurrent_input(const Seq<T>& s, const T* h, T* buf) {
  if (s.rec_mask == nullptr) return h;
  const int64_t n = s.B * s.P;
  #pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) buf[i] = h[i] * s.rec_mask[i];
  return buf;
}

}  // namespace rnnkit
