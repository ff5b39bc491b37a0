// One (layer, direction)'s arguments, read by name (named.h) into a struct, checked, and
// turned into the raw pointers of Seq (common.h). Forward and backward share all of it;
// what differs (xg, h0, c0 in; the saved activations and upstream grads back) is read by
// binding.cpp. Bad arguments raise ValueError / TypeError in Python (TORCH_CHECK_VALUE /
// _TYPE). Only binding.cpp includes this header.
#pragma once

#include <torch/extension.h>

#include <optional>
#include <string>

#include "common.h"
#include "named.h"

namespace rnnkit {
namespace {

using OptT = std::optional<at::Tensor>;

// The native loop's modes, by the names function.MODES gives them.
Mode read_mode(const Named& a) {
  const std::string m = a.text("mode");
  if (m == "rnn_tanh") return RNN_TANH;
  if (m == "rnn_relu") return RNN_RELU;
  if (m == "lstm") return LSTM;
  if (m == "gru") return GRU;
  TORCH_CHECK_VALUE(false, a.where(), ": `mode` must be 'rnn_tanh', 'rnn_relu', 'lstm' or "
                    "'gru', got '", m, "'");
  return LSTM;  // not reached
}

const char* mode_name(Mode mode) {
  static const char* const names[] = {"rnn_tanh", "rnn_relu", "lstm", "gru"};
  return names[int(mode)];
}

void check(const at::Tensor& t, const at::Tensor& like, const char* name,
           std::initializer_list<int64_t> shape) {
  TORCH_CHECK_VALUE(t.device().is_cpu(), "rnnkit cpu kernel: `", name, "` must be on the CPU");
  TORCH_CHECK_TYPE(t.scalar_type() == like.scalar_type(), "rnnkit cpu kernel: `", name,
                   "` has dtype ", t.scalar_type(), " but the input has ", like.scalar_type());
  TORCH_CHECK_VALUE(t.sizes().equals(shape), "rnnkit cpu kernel: `", name, "` must have shape ",
                    at::IntArrayRef(shape), ", got ", t.sizes());
  TORCH_CHECK_VALUE(t.is_contiguous(), "rnnkit cpu kernel: `", name, "` must be contiguous");
}

template <typename T>
const T* cptr(const OptT& t) { return t.has_value() ? t->data_ptr<T>() : nullptr; }

struct Dims {
  int64_t T, B, H, P, G;
};

// What forward and backward both read. Names as in function.py's dicts.
struct LayerArgs {
  Mode mode = LSTM;
  bool reverse = false;
  bool reset_after = true;  // GRU only
  double zh = 0, zc = 0;    // eval-mode zoneout probabilities (zc: LSTM only)
  double eps = 1e-5;        // layer-norm epsilon (with ln_hh only)
  at::Tensor w_hh;          // (G*H, P)
  OptT b_hn;                // (H) GRU reset_after: the bias inside r ⊙ (·)
  OptT w_ci, w_cf, w_co;    // (H) LSTM peepholes: all three or none
  OptT w_hr;                // (P, H) LSTM projection
  OptT mask;                // (T, B) bool, true = valid step
  OptT rec_mask;            // (B, P) recurrent-dropout keep mask
  OptT zone_h, zone_c;      // (T, B, P) / (T, B, H) zoneout keep masks (zone_c: LSTM)
  OptT ln_hh, ln_cw, ln_cb; // (G*H) γ_hh; (H) γ_c, β_c (LSTM)

  bool ln() const { return ln_hh.has_value(); }
};

// The keys of a (layer, direction) that only the LSTM / only the GRU reads.
#define RNNKIT_LSTM_ONLY "c0", "w_ci", "w_cf", "w_co", "w_hr", "zone_c", "zc", "ln_c_weight", \
    "ln_c_bias", "cs", "aux2", "ln_xc", "ln_rc", "d_c_n"
#define RNNKIT_GRU_ONLY "b_hn", "reset_after"
// The keys every LayerArgs reader's table holds.
#define RNNKIT_LAYER_KEYS "mode", "reverse", "reset_after", "zh", "zc", "eps", "w_hh", "b_hn", \
    "w_ci", "w_cf", "w_co", "w_hr", "mask", "rec_mask", "zone_h", "zone_c", "ln_hh",           \
    "ln_c_weight", "ln_c_bias"

LayerArgs read_layer(const Named& a) {
  LayerArgs l;
  l.mode = read_mode(a);
  if (l.mode != LSTM) a.refuse({RNNKIT_LSTM_ONLY}, "it is the LSTM's and mode='", mode_name(l.mode), "'");
  if (l.mode != GRU) a.refuse({RNNKIT_GRU_ONLY}, "it is the GRU's and mode='", mode_name(l.mode), "'");
  l.reverse = a.flag("reverse");
  if (l.mode == GRU) l.reset_after = a.flag("reset_after");
  l.zh = a.real("zh", 0.0);
  l.zc = a.real("zc", 0.0);
  l.w_hh = a.tensor("w_hh");
  l.b_hn = a.opt("b_hn");
  l.w_ci = a.opt("w_ci"); l.w_cf = a.opt("w_cf"); l.w_co = a.opt("w_co");
  TORCH_CHECK_VALUE(l.w_ci.has_value() == l.w_cf.has_value() &&
                        l.w_cf.has_value() == l.w_co.has_value(),
                    a.where(), ": the peepholes w_ci, w_cf and w_co come all three or none");
  l.w_hr = a.opt("w_hr");
  l.mask = a.opt("mask");
  l.rec_mask = a.opt("rec_mask");
  l.zone_h = a.opt("zone_h"); l.zone_c = a.opt("zone_c");
  l.ln_hh = a.opt("ln_hh"); l.ln_cw = a.opt("ln_c_weight"); l.ln_cb = a.opt("ln_c_bias");
  // Layer normalisation: γ_hh for every mode, plus γ_c and β_c for the LSTM; all or none.
  if (l.mode == LSTM && (l.ln_hh || l.ln_cw || l.ln_cb)) {
    TORCH_CHECK_VALUE(l.ln_hh && l.ln_cw && l.ln_cb, a.where(), ": the LSTM's layer "
                      "normalisation needs ln_hh, ln_c_weight and ln_c_bias");
  }
  if (l.ln_hh) l.eps = a.real("eps");
  else a.refuse({"eps"}, "there is no layer normalisation (no ln_hh)");
  return l;
}

// Shapes and dtypes against `like` (xg in forward, act in backward); returns the sizes.
Dims check_layer(const LayerArgs& l, const at::Tensor& like, int64_t T, int64_t B) {
  TORCH_CHECK_TYPE(like.scalar_type() == at::kFloat || like.scalar_type() == at::kDouble,
                   "rnnkit cpu kernel: float32 or float64 only, got ", like.scalar_type());
  const int64_t G = gate_count(l.mode);
  TORCH_CHECK_VALUE(l.w_hh.dim() == 2 && l.w_hh.size(0) % G == 0, "rnnkit cpu kernel: `w_hh` "
                    "must be (", G, "*H, P) for mode='", mode_name(l.mode), "', got ",
                    l.w_hh.sizes());
  const int64_t H = l.w_hh.size(0) / G, P = l.w_hh.size(1);
  check(l.w_hh, like, "w_hh", {G * H, P});
  TORCH_CHECK_VALUE(l.w_hr.has_value() || P == H, "rnnkit cpu kernel: w_hh has ", P,
                    " columns but hidden_size is ", H, " and there is no projection");
  if (l.b_hn) check(*l.b_hn, like, "b_hn", {H});
  if (l.w_ci) check(*l.w_ci, like, "w_ci", {H});
  if (l.w_cf) check(*l.w_cf, like, "w_cf", {H});
  if (l.w_co) check(*l.w_co, like, "w_co", {H});
  if (l.w_hr) check(*l.w_hr, like, "w_hr", {P, H});
  if (l.mask) {
    TORCH_CHECK_VALUE(l.mask->scalar_type() == at::kBool && l.mask->is_contiguous() &&
                          l.mask->sizes().equals({T, B}),
                      "rnnkit cpu kernel: `mask` must be a contiguous (T, B) bool tensor");
  }
  if (l.rec_mask) check(*l.rec_mask, like, "rec_mask", {B, P});
  if (l.zone_h) check(*l.zone_h, like, "zone_h", {T, B, P});
  if (l.zone_c) check(*l.zone_c, like, "zone_c", {T, B, H});
  if (l.ln_hh) check(*l.ln_hh, like, "ln_hh", {G * H});
  if (l.ln_cw) check(*l.ln_cw, like, "ln_c_weight", {H});
  if (l.ln_cb) check(*l.ln_cb, like, "ln_c_bias", {H});
  return {T, B, H, P, G};
}

template <typename T>
void fill_seq(Seq<T>& s, const LayerArgs& l, const Dims& d) {
  s.T_ = d.T; s.B = d.B; s.H = d.H; s.P = d.P; s.bs = d.B;
  s.mode = int(l.mode); s.reverse = l.reverse; s.reset_after = l.reset_after;
  s.w_hh = l.w_hh.data_ptr<T>();
  s.b_hn = cptr<T>(l.b_hn);
  s.w_ci = cptr<T>(l.w_ci); s.w_cf = cptr<T>(l.w_cf); s.w_co = cptr<T>(l.w_co);
  s.w_hr = cptr<T>(l.w_hr);
  s.mask = l.mask ? l.mask->data_ptr<bool>() : nullptr;
  s.rec_mask = cptr<T>(l.rec_mask);
  s.zone_h = cptr<T>(l.zone_h); s.zone_c = cptr<T>(l.zone_c);
  s.zh = T(l.zh); s.zc = T(l.zc);
  s.ln_hh = cptr<T>(l.ln_hh); s.ln_cw = cptr<T>(l.ln_cw); s.ln_cb = cptr<T>(l.ln_cb);
  s.eps = T(l.eps);
}

// The saved 1/std per row: one LN per row, two for the GRU ([r, z] and n).
std::vector<int64_t> rstd_shape(Mode mode, const Dims& d) {
  if (mode == GRU) return {d.T, d.B, 2};
  return {d.T, d.B};
}

}  // namespace
}  // namespace rnnkit
