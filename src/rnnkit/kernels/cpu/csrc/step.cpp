// The single-step kernels of step.h. Equations as in the time loops
// (lstm.cpp, gru.cpp, rnn.cpp) without masks, dropout or zoneout.
#include "step.h"

#include "common.h"

namespace rnnkit {
namespace {

// gx (B, N) = x W_ih^T + b_ih; gh (B, N) = h W_hh^T in its first Nh columns.
template <typename T>
void project(int64_t B, int64_t I, int64_t H, int64_t N, const T* x, const T* h, const T* w_ih,
             const T* w_hh, int64_t Nh, const T* b_ih, T* gx, T* gh) {
  gemm_rows_nt(B, N, I, x, I, w_ih, I, gx, N);
  gemm_rows_nt(B, Nh, H, h, H, w_hh, H, gh, N);
  for (int64_t b = 0; b < B; ++b) {
    T* __restrict__ r = gx + b * N;
    if (b_ih) for (int64_t j = 0; j < N; ++j) r[j] += b_ih[j];
  }
}

}  // namespace

template <typename T>
void lstm_cell(int64_t B, int64_t I, int64_t H, const T* x, const T* h, const T* c,
               const T* w_ih, const T* w_hh, const T* b_ih, const T* b_hh, T* ws, T* h1, T* c1) {
  const int64_t G = 4 * H;
  T* gx = ws;
  T* gh = ws + B * G;
  project(B, I, H, G, x, h, w_ih, w_hh, G, b_ih, gx, gh);
  for (int64_t b = 0; b < B; ++b) {
    const T* __restrict__ p = gx + b * G;
    const T* __restrict__ q = gh + b * G;
    const T* __restrict__ c0 = c + b * H;
    T* __restrict__ hb = h1 + b * H;
    T* __restrict__ cb = c1 + b * H;
    #pragma GCC ivdep
    for (int64_t j = 0; j < H; ++j) {
      const T bi = b_hh ? b_hh[j] : T(0), bf = b_hh ? b_hh[H + j] : T(0);
      const T bg = b_hh ? b_hh[2 * H + j] : T(0), bo = b_hh ? b_hh[3 * H + j] : T(0);
      const T i = sigm<T>(p[j] + q[j] + bi);
      const T f = sigm<T>(p[H + j] + q[H + j] + bf);
      const T g = tanh_<T>(p[2 * H + j] + q[2 * H + j] + bg);
      const T o = sigm<T>(p[3 * H + j] + q[3 * H + j] + bo);
      const T cv = f * c0[j] + i * g;
      cb[j] = cv;
      hb[j] = o * tanh_<T>(cv);
    }
  }
}

template <typename T>
void gru_cell(int64_t B, int64_t I, int64_t H, bool reset_after, const T* x, const T* h,
              const T* w_ih, const T* w_hh, const T* b_ih, const T* b_hh, T* ws, T* h1) {
  const int64_t G = 3 * H;
  T* gx = ws;
  T* gh = ws + B * G;
  project(B, I, H, G, x, h, w_ih, w_hh, reset_after ? G : 2 * H, b_ih, gx, gh);
  for (int64_t b = 0; b < B; ++b) {
    const T* __restrict__ p = gx + b * G;
    T* __restrict__ q = gh + b * G;
    const T* __restrict__ h0 = h + b * H;
    T* __restrict__ hb = h1 + b * H;
    #pragma GCC ivdep
    for (int64_t j = 0; j < H; ++j) {
      const T r = sigm<T>(p[j] + q[j] + (b_hh ? b_hh[j] : T(0)));
      const T z = sigm<T>(p[H + j] + q[H + j] + (b_hh ? b_hh[H + j] : T(0)));
      q[j] = r;
      q[H + j] = z;
      if (reset_after) {
        const T n = tanh_<T>(p[2 * H + j] + r * (q[2 * H + j] + (b_hh ? b_hh[2 * H + j] : T(0))));
        hb[j] = z * h0[j] + (T(1) - z) * n;
      } else {
        hb[j] = r * h0[j];  // r ⊙ h, multiplied by W_hn below
      }
    }
  }
  if (reset_after) return;
  // reset_before: n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn); hb holds r ⊙ h for now.
  gemm_rows_nt(B, H, H, h1, H, w_hh + 2 * H * H, H, gh + 2 * H, G);
  for (int64_t b = 0; b < B; ++b) {
    const T* __restrict__ p = gx + b * G;
    const T* __restrict__ q = gh + b * G;
    const T* __restrict__ h0 = h + b * H;
    T* __restrict__ hb = h1 + b * H;
    #pragma GCC ivdep
    for (int64_t j = 0; j < H; ++j) {
      const T z = q[H + j];
      const T n = tanh_<T>(p[2 * H + j] + q[2 * H + j] + (b_hh ? b_hh[2 * H + j] : T(0)));
      hb[j] = z * h0[j] + (T(1) - z) * n;
    }
  }
}

template <typename T>
void rnn_cell(int64_t B, int64_t I, int64_t H, bool relu, const T* x, const T* h,
              const T* w_ih, const T* w_hh, const T* b_ih, const T* b_hh, T* ws, T* h1) {
  T* gx = ws;
  T* gh = ws + B * H;
  project(B, I, H, H, x, h, w_ih, w_hh, H, b_ih, gx, gh);
  for (int64_t b = 0; b < B; ++b) {
    const T* __restrict__ p = gx + b * H;
    const T* __restrict__ q = gh + b * H;
    T* __restrict__ hb = h1 + b * H;
    #pragma GCC ivdep
    for (int64_t j = 0; j < H; ++j) {
      const T a = p[j] + q[j] + (b_hh ? b_hh[j] : T(0));
      hb[j] = relu ? (a > T(0) ? a : T(0)) : tanh_<T>(a);
    }
  }
}

#define RNNKIT_STEPS(T)                                                                       \
  template void lstm_cell<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*,        \
                             const T*, const T*, const T*, const T*, T*, T*, T*);             \
  template void gru_cell<T>(int64_t, int64_t, int64_t, bool, const T*, const T*, const T*,   \
                            const T*, const T*, const T*, T*, T*);                            \
  template void rnn_cell<T>(int64_t, int64_t, int64_t, bool, const T*, const T*, const T*,   \
                            const T*, const T*, const T*, T*, T*);
RNNKIT_STEPS(float)
RNNKIT_STEPS(double)

}  // namespace rnnkit
