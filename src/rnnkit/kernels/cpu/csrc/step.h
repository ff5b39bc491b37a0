// Single steps for streaming (torch.nn.LSTMCell / GRUCell / RNNCell semantics,
// inference only): one call computes both projections and the gate math.
#pragma once

#include <cstdint>

namespace rnnkit {

// x (B, I), h (B, H), c (B, H); W_ih (G*H, I), W_hh (G*H, H); biases (G*H) or null.
// ws holds at least B * 2 * G * H elements. Outputs h1 (B, H) [, c1 (B, H)].
template <typename T>
void lstm_cell(int64_t B, int64_t I, int64_t H, const T* x, const T* h, const T* c,
               const T* w_ih, const T* w_hh, const T* b_ih, const T* b_hh, T* ws, T* h1, T* c1);
template <typename T>
void gru_cell(int64_t B, int64_t I, int64_t H, bool reset_after, const T* x, const T* h,
              const T* w_ih, const T* w_hh, const T* b_ih, const T* b_hh, T* ws, T* h1);
template <typename T>
void rnn_cell(int64_t B, int64_t I, int64_t H, bool relu, const T* x, const T* h,
              const T* w_ih, const T* w_hh, const T* b_ih, const T* b_hh, T* ws, T* h1);

}  // namespace rnnkit
