// Single steps for streaming (torch.nn.LSTMCell / GRUCell / RNNCell semantics,
// inference only): one call computes both projections and the gate math (cells.h).
#pragma once

#include <cstdint>

namespace rnnkit {

// One step's tensors by name (binding.cpp's cell_step fills it from its dict):
// x (B, I), h (B, H), c (B, H) for the LSTM (else null); W_ih (G*H, I), W_hh (G*H, H);
// biases (G*H) or null; ws: step_workspace_size(B, H, G) elements. Outputs h1 (B, H)
// and the LSTM's c1 (B, H).
template <typename T>
struct StepArgs {
  int64_t B, I, H;
  const T* x;
  const T* h;
  const T* c;
  const T* w_ih;
  const T* w_hh;
  const T* b_ih;
  const T* b_hh;
  T* ws;
  T* h1;
  T* c1;
};

inline int64_t step_workspace_size(int64_t B, int64_t H, int64_t G) {
  return B * (3 * G * H + 2 * H);
}

template <typename T> void lstm_cell(const StepArgs<T>& a);
template <typename T> void gru_cell(const StepArgs<T>& a, bool reset_after);
template <typename T> void rnn_cell(const StepArgs<T>& a, bool relu);

}  // namespace rnnkit
