// Elman RNN time loop and its BPTT (rnnkit.cells.rnn):
//   h = act(xg_t + W_hh h_rec),  xg_t = W_ih x_t + b_ih + b_hh (hoisted), act = tanh or relu,
// followed by zoneout and the mask (common.h).
#include "common.h"

namespace rnnkit {

template <typename T>
void rnn_forward(Seq<T>& s) {
  const int64_t B = s.B, H = s.H, Tn = s.T_;
  const int64_t rev = s.reverse ? 1 : 0;
  T* gh = s.ws;             // (B, H)
  T* hrec = gh + B * H;     // (B, H)
  T* a_ws = hrec + B * H;   // (B, H)
  const bool relu = s.mode == RNN_RELU;
  const WeightGemm<T> Wh(true, B, H, H, s.w_hh, H, s.pack());  // h_rec W_hh^T
  for (int64_t step = 0; step < Tn; ++step) {
    const int64_t t = s.reverse ? Tn - 1 - step : step;
    const T* hp = s.hs + s.slot(t + rev) * B * H;
    T* hn = s.hs + s.slot(t + 1 - rev) * B * H;
    const T* hr = recurrent_input(s, hp, hrec);
    T* A = s.save ? s.act + t * B * H : a_ws;
    // gh = xg_t, then += h_rec W_hh^T: one GEMM with beta = 1
    std::memcpy(A, s.xg + t * B * H, sizeof(T) * B * H);
    Wh(hr, H, T(1), A, H);
    const int64_t n = B * H;
    if (relu) {
      #pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) A[i] = A[i] > T(0) ? A[i] : T(0);
    } else {
      #pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) A[i] = tanh_<T>(A[i]);
    }
    settle(s, t, H, hp, A, s.zone_h, s.zh, s.zoned_h(), hn, s.out + t * B * H);
  }
}

template <typename T>
void rnn_backward(Seq<T>& s) {
  const int64_t B = s.B, H = s.H, Tn = s.T_;
  T* dH = s.ws;             // (B, H)
  T* dHp = dH + B * H;      // (B, H)
  T* dcell = dHp + B * H;   // (B, H)
  T* tmp = dcell + B * H;   // (B, H)
  const bool relu = s.mode == RNN_RELU;
  const WeightGemm<T> Wh(false, B, H, H, s.w_hh, H, s.pack());  // dA W_hh
  #pragma GCC ivdep
  for (int64_t i = 0; i < B * H; ++i) dH[i] = s.dhN ? s.dhN[i] : T(0);
  for (int64_t step = 0; step < Tn; ++step) {
    const int64_t t = s.reverse ? step : Tn - 1 - step;
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
    const T* __restrict__ A = s.act + t * B * H;
    T* __restrict__ dA = s.dxg + t * B * H;
    const int64_t n = B * H;
    // masked rows: dcell is 0 there, so dA is 0 too
    if (relu) {
      #pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) dA[i] = A[i] > T(0) ? dcell[i] : T(0);
    } else {
      #pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) dA[i] = dcell[i] * (T(1) - A[i] * A[i]);
    }
    back_through_whh(s, dA, H, Wh, dHp, tmp);
    std::swap(dH, dHp);
  }
  std::memcpy(s.dh0, dH, sizeof(T) * B * H);
}

template void rnn_forward<float>(Seq<float>&);
template void rnn_forward<double>(Seq<double>&);
template void rnn_backward<float>(Seq<float>&);
template void rnn_backward<double>(Seq<double>&);

}  // namespace rnnkit
