// Fused per-step gate updates of the convolutional recurrences (ConvLSTM, ConvGRU) and
// their hand-written backward: one pass over the gate pre-activations of one step.
// The convolutions stay torch's (kernels/conv_fused.py runs them); this file does the
// element-wise part that is otherwise ~15 torch ops per step (the equations of
// rnnkit/cells/conv_lstm.py and conv_gru.py, sigmoid / tanh, ConvLSTM's peepholes as an
// option, no layer norm).
//
// Registered as torch ops (torch.ops.rnnkit_conv.*) with TORCH_LIBRARY_FRAGMENT, apart
// from the pybind module of binding.cpp. Outputs are written into caller-given tensors
// (slices of the sequence buffers), so that a step allocates nothing.
//
// Layout: the gate tensor A (B, G·F, *S) is contiguous channels-first or channels-last.
// Channels-first: per sample, G blocks of F·S values; channels-last: per position, G
// blocks of F values. Both are "outer × G × inner" with inner = F·S or F, and the state
// tensors (B, F, *S) in the same layout are "outer × inner", so one loop serves both.
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/extension.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "common.h"

namespace {

// ---- activations: the recurrent kernels' own (common.h): float's vectorisable
// polynomial exp and reciprocal, double's libm, so that float64 parity is exact ----------
using rnnkit::sigm;
using rnnkit::tanh_;

// ---- layout ------------------------------------------------------------------------
struct Layout {
  int64_t outer, inner;  // A is outer × G × inner, a state outer × inner
};

at::MemoryFormat last_format(int64_t dim) {
  return dim == 5 ? at::MemoryFormat::ChannelsLast3d : at::MemoryFormat::ChannelsLast;
}

// The layout of the gate tensor `a` (B, G·F, *S), and checks that every other
// gate-shaped tensor (B, G·F, *S) and state-shaped tensor (B, F, *S) has the same dtype,
// sizes and memory layout (compared by contiguity, not strides: at B = 1 or S = 1 the
// strides of size-1 dimensions are arbitrary).
Layout layout_of(const at::Tensor& a, int64_t G, std::initializer_list<const at::Tensor*> gate_like,
                 std::initializer_list<const at::Tensor*> states, const char* op) {
  TORCH_CHECK_VALUE(a.device().is_cpu(), op, ": tensors must be on the CPU");
  TORCH_CHECK_TYPE(a.scalar_type() == at::kFloat || a.scalar_type() == at::kDouble, op,
                   ": float32 or float64 only, got ", a.scalar_type());
  TORCH_CHECK_VALUE(a.dim() >= 3 && a.size(1) % G == 0, op, ": gates must be (B, ", G,
                    "·F, *S), got ", a.sizes());
  const int64_t B = a.size(0), F = a.size(1) / G, S = a.numel() / (B * G * F);
  const bool first = a.is_contiguous();
  const at::MemoryFormat fmt = first ? at::MemoryFormat::Contiguous : last_format(a.dim());
  TORCH_CHECK_VALUE(first || (a.dim() >= 4 && a.dim() <= 5 && a.is_contiguous(fmt)), op,
                    ": gates must be contiguous, channels-first or channels-last");
  std::vector<int64_t> want(a.sizes().begin(), a.sizes().end());
  auto same = [&](const at::Tensor* t, const char* what) {
    TORCH_CHECK_VALUE(t->device().is_cpu(), op, ": tensors must be on the CPU");
    TORCH_CHECK_TYPE(t->scalar_type() == a.scalar_type(), op, ": a ", what, " has dtype ",
                     t->scalar_type(), " but the gates have ", a.scalar_type());
    TORCH_CHECK_VALUE(t->sizes().equals(want), op, ": a ", what, " has shape ", t->sizes(),
                      ", expected ", at::IntArrayRef(want));
    TORCH_CHECK_VALUE(t->is_contiguous(fmt), op, ": a ", what,
                      "'s memory layout differs from the gates'");
  };
  for (const at::Tensor* t : gate_like) same(t, "gate tensor");
  want[1] = F;
  for (const at::Tensor* t : states) same(t, "state tensor");
  return first ? Layout{B, F * S} : Layout{B * S, F};
}

// Runs fn(o, j0, j1) over [j0, j1) ranges of the flat index o·inner + j, split across
// torch's intra-op threads (at::parallel_for), each range inside one outer row so that
// the inner loop is a plain vectorisable loop over contiguous values.
template <typename Fn>
void for_rows(const Layout& L, Fn fn) {
  const int64_t total = L.outer * L.inner;
  at::parallel_for(0, total, 4096, [&](int64_t begin, int64_t end) {
    while (begin < end) {
      const int64_t o = begin / L.inner, j0 = begin % L.inner;
      const int64_t j1 = std::min(L.inner, j0 + (end - begin));
      fn(o, j0, j1);
      begin += j1 - j0;
    }
  });
}

// ---- ConvLSTM --------------------------------------------------------------------------
// A = gx + gh (B, 4F, *S) as i | f | g | o (gh may be absent);  g = tanh(A_g);
// i = σ(A_i + W_ci ∘ C_{t-1}),  f = σ(A_f + W_cf ∘ C_{t-1});  C_t = f ∘ C_{t-1} + i ∘ g;
// o = σ(A_o + W_co ∘ C_t);  H_t = o ∘ tanh(C_t)  (the W_c· terms only with peepholes: per
// position weights (1, F, *S) in the state's layout).  With save, the activated i, f, g, o
// go to `gates` (same layout as A) for the backward.
// One run of n values of a row: the pointers are offset to the run's first value; gate
// block k of A is at k·stride. __restrict__: no buffer aliases another, which lets GCC
// vectorise the loop without run-time overlap checks (it gives up past ~10 of them).
// SAVE: keep the activated gates; GH: add gh (absent when gx is the whole pre-activation);
// PEEP: the peephole terms (Pi, Pf, Po: the weights of the run's positions).
template <typename T, bool SAVE, bool GH, bool PEEP>
void lstm_fwd_run(const T* __restrict__ X, const T* __restrict__ Hh, const T* __restrict__ C,
                  T* __restrict__ Ho, T* __restrict__ Co, T* __restrict__ Gs,
                  const T* __restrict__ Pi, const T* __restrict__ Pf, const T* __restrict__ Po,
                  int64_t n, int64_t stride) {
  for (int64_t j = 0; j < n; ++j) {
    const T cp = C[j];
    const T i = sigm<T>(X[j] + (GH ? Hh[j] : T(0)) + (PEEP ? Pi[j] * cp : T(0)));
    const T f = sigm<T>(X[stride + j] + (GH ? Hh[stride + j] : T(0)) + (PEEP ? Pf[j] * cp : T(0)));
    const T g = tanh_<T>(X[2 * stride + j] + (GH ? Hh[2 * stride + j] : T(0)));
    const T cn = f * cp + i * g;
    const T og = sigm<T>(X[3 * stride + j] + (GH ? Hh[3 * stride + j] : T(0)) +
                         (PEEP ? Po[j] * cn : T(0)));
    Co[j] = cn;
    Ho[j] = og * tanh_<T>(cn);
    if (SAVE) {
      Gs[j] = i;
      Gs[stride + j] = f;
      Gs[2 * stride + j] = g;
      Gs[3 * stride + j] = og;
    }
  }
}

// Peephole weights: three (1, F, *S) maps in the state's layout, so that row o of a state
// (outer × inner) meets row (o mod rows-per-sample) of a weight map.
struct Peep {
  const void *i = nullptr, *f = nullptr, *o = nullptr;
  int64_t rows = 1;  // rows per sample: 1 channels-first, S channels-last
};

Peep peep_of(const at::Tensor& gates, const Layout& L, const std::optional<at::Tensor>& w_ci,
             const std::optional<at::Tensor>& w_cf, const std::optional<at::Tensor>& w_co,
             const char* op) {
  Peep p;
  const bool any = (w_ci.has_value() && w_ci->defined()) || (w_cf.has_value() && w_cf->defined()) ||
                   (w_co.has_value() && w_co->defined());
  if (!any) return p;
  const int64_t B = gates.size(0);
  std::vector<int64_t> want(gates.sizes().begin(), gates.sizes().end());
  want[0] = 1;
  want[1] /= 4;
  const bool first = gates.is_contiguous();
  const at::MemoryFormat fmt = first ? at::MemoryFormat::Contiguous : last_format(gates.dim());
  const std::optional<at::Tensor>* ws[3] = {&w_ci, &w_cf, &w_co};
  const char* names[3] = {"w_ci", "w_cf", "w_co"};
  for (int k = 0; k < 3; ++k) {
    TORCH_CHECK_VALUE(ws[k]->has_value() && (*ws[k])->defined(), op,
                      ": peepholes need all of w_ci, w_cf, w_co; ", names[k], " is missing");
    const at::Tensor& w = ws[k]->value();
    TORCH_CHECK_TYPE(w.scalar_type() == gates.scalar_type(), op, ": ", names[k], " has dtype ",
                     w.scalar_type(), " but the gates have ", gates.scalar_type());
    TORCH_CHECK_VALUE(w.device().is_cpu() && w.sizes().equals(want), op, ": ", names[k],
                      " must be a CPU tensor of shape ", at::IntArrayRef(want), ", got ", w.sizes());
    TORCH_CHECK_VALUE(w.is_contiguous(fmt), op, ": ", names[k],
                      "'s memory layout differs from the gates'");
  }
  p.i = w_ci->data_ptr();
  p.f = w_cf->data_ptr();
  p.o = w_co->data_ptr();
  p.rows = L.outer / B;
  return p;
}

template <typename T>
void lstm_fwd_impl(const at::Tensor& gx, const T* Hh, const at::Tensor& c,
                   const at::Tensor& h_out, const at::Tensor& c_out, const at::Tensor& gates,
                   bool save, const Layout& L, const Peep& P) {
  const T* X = gx.data_ptr<T>();
  const T* C = c.data_ptr<T>();
  T* Ho = h_out.data_ptr<T>();
  T* Co = c_out.data_ptr<T>();
  T* Gs = save ? gates.data_ptr<T>() : nullptr;
  const T *Pi = static_cast<const T*>(P.i), *Pf = static_cast<const T*>(P.f),
          *Po = static_cast<const T*>(P.o);
  const int64_t n = L.inner;
  using Run = void (*)(const T*, const T*, const T*, T*, T*, T*, const T*, const T*, const T*,
                       int64_t, int64_t);
  static const Run runs[8] = {
      lstm_fwd_run<T, false, false, false>, lstm_fwd_run<T, false, false, true>,
      lstm_fwd_run<T, false, true, false>,  lstm_fwd_run<T, false, true, true>,
      lstm_fwd_run<T, true, false, false>,  lstm_fwd_run<T, true, false, true>,
      lstm_fwd_run<T, true, true, false>,   lstm_fwd_run<T, true, true, true>};
  const Run run = runs[(save ? 4 : 0) + (Hh ? 2 : 0) + (Pi ? 1 : 0)];
  for_rows(L, [&](int64_t o, int64_t j0, int64_t j1) {
    const int64_t a = o * 4 * n + j0, s = o * n + j0, w = (o % P.rows) * n + j0;
    run(X + a, Hh ? Hh + a : nullptr, C + s, Ho + s, Co + s, Gs ? Gs + a : nullptr,
        Pi ? Pi + w : nullptr, Pf ? Pf + w : nullptr, Po ? Po + w : nullptr, j1 - j0, n);
  });
}

void lstm_forward(const at::Tensor& gx, const std::optional<at::Tensor>& gh, const at::Tensor& c,
                  const at::Tensor& h_out, const at::Tensor& c_out, const at::Tensor& gates,
                  bool save, const std::optional<at::Tensor>& w_ci,
                  const std::optional<at::Tensor>& w_cf, const std::optional<at::Tensor>& w_co) {
  const char* op = "rnnkit_conv::lstm_forward";
  const Layout L = layout_of(gx, 4, {}, {&c, &h_out, &c_out}, op);
  const bool has_gh = gh.has_value() && gh->defined();
  if (has_gh) layout_of(gx, 4, {&gh.value()}, {}, op);
  if (save) layout_of(gx, 4, {&gates}, {}, op);
  const Peep P = peep_of(gx, L, w_ci, w_cf, w_co, op);
  AT_DISPATCH_FLOATING_TYPES(gx.scalar_type(), "lstm_forward", [&] {
    lstm_fwd_impl<scalar_t>(gx, has_gh ? gh->data_ptr<scalar_t>() : nullptr, c, h_out, c_out,
                            gates, save, L, P);
  });
}

// Backward of one step. dH = dh_out + dh_rec (either may be absent), dC the carried
// gradient of C_t (overwritten with that of C_{t-1}):
//   dA_o = dH ∘ tanh C_t ∘ o(1 − o);  dC += dH ∘ o ∘ (1 − tanh²C_t) + dA_o ∘ W_co
//   dA_i = dC ∘ g ∘ i(1 − i);  dA_f = dC ∘ C_{t-1} ∘ f(1 − f);  dA_g = dC ∘ i ∘ (1 − g²)
//   dC_{t-1} = dC ∘ f + dA_i ∘ W_ci + dA_f ∘ W_cf   (the W_c· terms only with peepholes;
//   their own gradients, Σ dA_i ∘ C_{t-1} etc., are summed by the caller over all steps).
// H1, H2: whether dh_out / dh_rec are given (template flags keep the loop branch-free).
template <typename T, bool H1, bool H2, bool PEEP>
void lstm_bwd_run(const T* __restrict__ dh1, const T* __restrict__ dh2, T* __restrict__ dc,
                  const T* __restrict__ Gs, const T* __restrict__ Cp, const T* __restrict__ Cn,
                  T* __restrict__ dA, const T* __restrict__ Pi, const T* __restrict__ Pf,
                  const T* __restrict__ Po, int64_t n, int64_t stride) {
  for (int64_t j = 0; j < n; ++j) {
    const T dh = (H1 ? dh1[j] : T(0)) + (H2 ? dh2[j] : T(0));
    const T i = Gs[j], f = Gs[stride + j], g = Gs[2 * stride + j], og = Gs[3 * stride + j];
    const T tc = tanh_<T>(Cn[j]);
    const T dao = dh * tc * og * (T(1) - og);
    const T dct = dc[j] + dh * og * (T(1) - tc * tc) + (PEEP ? dao * Po[j] : T(0));
    const T dai = dct * g * i * (T(1) - i);
    const T daf = dct * Cp[j] * f * (T(1) - f);
    dA[j] = dai;
    dA[stride + j] = daf;
    dA[2 * stride + j] = dct * i * (T(1) - g * g);
    dA[3 * stride + j] = dao;
    dc[j] = dct * f + (PEEP ? dai * Pi[j] + daf * Pf[j] : T(0));
  }
}

template <typename T>
void lstm_bwd_impl(const T* dh1, const T* dh2, T* dc, const T* Gs, const T* Cp, const T* Cn,
                   T* dA, const Layout& L, const Peep& P) {
  const int64_t n = L.inner;
  const T *Pi = static_cast<const T*>(P.i), *Pf = static_cast<const T*>(P.f),
          *Po = static_cast<const T*>(P.o);
  using Run = void (*)(const T*, const T*, T*, const T*, const T*, const T*, T*, const T*,
                       const T*, const T*, int64_t, int64_t);
  static const Run runs[8] = {
      lstm_bwd_run<T, false, false, false>, lstm_bwd_run<T, false, false, true>,
      lstm_bwd_run<T, false, true, false>,  lstm_bwd_run<T, false, true, true>,
      lstm_bwd_run<T, true, false, false>,  lstm_bwd_run<T, true, false, true>,
      lstm_bwd_run<T, true, true, false>,   lstm_bwd_run<T, true, true, true>};
  const Run run = runs[(dh1 ? 4 : 0) + (dh2 ? 2 : 0) + (Pi ? 1 : 0)];
  for_rows(L, [&](int64_t o, int64_t j0, int64_t j1) {
    const int64_t a = o * 4 * n + j0, s = o * n + j0, w = (o % P.rows) * n + j0;
    run(dh1 ? dh1 + s : nullptr, dh2 ? dh2 + s : nullptr, dc + s, Gs + a, Cp + s, Cn + s,
        dA + a, Pi ? Pi + w : nullptr, Pf ? Pf + w : nullptr, Po ? Po + w : nullptr, j1 - j0, n);
  });
}

template <typename T>
const T* opt_ptr(const std::optional<at::Tensor>& t) {
  return t.has_value() && t->defined() ? t->data_ptr<T>() : nullptr;
}

void lstm_backward(const std::optional<at::Tensor>& dh_out, const std::optional<at::Tensor>& dh_rec,
                   const at::Tensor& dc, const at::Tensor& gates, const at::Tensor& c_prev,
                   const at::Tensor& c_new, const at::Tensor& dA,
                   const std::optional<at::Tensor>& w_ci, const std::optional<at::Tensor>& w_cf,
                   const std::optional<at::Tensor>& w_co) {
  const char* op = "rnnkit_conv::lstm_backward";
  const Layout L = layout_of(gates, 4, {&dA}, {&dc, &c_prev, &c_new}, op);
  for (const auto* t : {&dh_out, &dh_rec}) {
    if (t->has_value() && (*t)->defined()) layout_of(gates, 4, {}, {&t->value()}, op);
  }
  const Peep P = peep_of(gates, L, w_ci, w_cf, w_co, op);
  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "lstm_backward", [&] {
    lstm_bwd_impl<scalar_t>(opt_ptr<scalar_t>(dh_out), opt_ptr<scalar_t>(dh_rec),
                            dc.data_ptr<scalar_t>(), gates.data_ptr<scalar_t>(),
                            c_prev.data_ptr<scalar_t>(), c_new.data_ptr<scalar_t>(),
                            dA.data_ptr<scalar_t>(), L, P);
  });
}

// ---- ConvGRU, reset_after=True ---------------------------------------------------------
// gx, gh (B, 3F, *S) as r | z | n, gh including b_h:
//   r = σ(gx_r + gh_r), z = σ(gx_z + gh_z), n = tanh(gx_n + r ∘ gh_n),
//   H_t = z ∘ H_{t-1} + (1 − z) ∘ n.
// With save, `gates` (B, 4F, *S) gets r | z | n | gh_n for the backward.
template <typename T, bool SAVE>
void gru_fwd_run(const T* __restrict__ X, const T* __restrict__ Hh, const T* __restrict__ Hp,
                 T* __restrict__ Ho, T* __restrict__ Gs, int64_t n, int64_t stride,
                 int64_t gstride) {
  for (int64_t j = 0; j < n; ++j) {
    const T r = sigm<T>(X[j] + Hh[j]);
    const T z = sigm<T>(X[stride + j] + Hh[stride + j]);
    const T hn = Hh[2 * stride + j];
    const T nn = tanh_<T>(X[2 * stride + j] + r * hn);
    Ho[j] = z * Hp[j] + (T(1) - z) * nn;
    if (SAVE) {
      Gs[j] = r;
      Gs[gstride + j] = z;
      Gs[2 * gstride + j] = nn;
      Gs[3 * gstride + j] = hn;
    }
  }
}

template <typename T>
void gru_fwd_impl(const at::Tensor& gx, const at::Tensor& gh, const at::Tensor& h,
                  const at::Tensor& h_out, const at::Tensor& gates, bool save, const Layout& L) {
  const T* X = gx.data_ptr<T>();
  const T* Hh = gh.data_ptr<T>();
  const T* Hp = h.data_ptr<T>();
  T* Ho = h_out.data_ptr<T>();
  T* Gs = save ? gates.data_ptr<T>() : nullptr;
  const int64_t n = L.inner;
  for_rows(L, [&](int64_t o, int64_t j0, int64_t j1) {
    const int64_t a = o * 3 * n + j0, g = o * 4 * n + j0, s = o * n + j0;
    if (Gs != nullptr) {
      gru_fwd_run<T, true>(X + a, Hh + a, Hp + s, Ho + s, Gs + g, j1 - j0, n, n);
    } else {
      gru_fwd_run<T, false>(X + a, Hh + a, Hp + s, Ho + s, nullptr, j1 - j0, n, n);
    }
  });
}

void gru_forward(const at::Tensor& gx, const at::Tensor& gh, const at::Tensor& h,
                 const at::Tensor& h_out, const at::Tensor& gates, bool save) {
  const char* op = "rnnkit_conv::gru_forward";
  const Layout L = layout_of(gx, 3, {&gh}, {&h, &h_out}, op);
  if (save) layout_of(gates, 4, {}, {&h}, op);
  AT_DISPATCH_FLOATING_TYPES(gx.scalar_type(), "gru_forward", [&] {
    gru_fwd_impl<scalar_t>(gx, gh, h, h_out, gates, save, L);
  });
}

// Backward of one step, dH = dh_out + dh_rec:
//   dA_z = dH ∘ (H_{t-1} − n) ∘ z(1 − z);  dN = dH ∘ (1 − z) ∘ (1 − n²)
//   dA_r = dN ∘ gh_n ∘ r(1 − r)
//   dgx = dA_r | dA_z | dN;  dgh = dA_r | dA_z | dN ∘ r;  dH_{t-1} (direct part) = dH ∘ z.
template <typename T, bool H1, bool H2>
void gru_bwd_run(const T* __restrict__ dh1, const T* __restrict__ dh2, const T* __restrict__ Gs,
                 const T* __restrict__ Hp, T* __restrict__ dgx, T* __restrict__ dgh,
                 T* __restrict__ dhp, int64_t n, int64_t stride) {
  for (int64_t j = 0; j < n; ++j) {
    const T dh = (H1 ? dh1[j] : T(0)) + (H2 ? dh2[j] : T(0));
    const T r = Gs[j], z = Gs[stride + j], nn = Gs[2 * stride + j], hn = Gs[3 * stride + j];
    const T daz = dh * (Hp[j] - nn) * z * (T(1) - z);
    const T dn = dh * (T(1) - z) * (T(1) - nn * nn);
    const T dar = dn * hn * r * (T(1) - r);
    dgx[j] = dar;
    dgx[stride + j] = daz;
    dgx[2 * stride + j] = dn;
    dgh[j] = dar;
    dgh[stride + j] = daz;
    dgh[2 * stride + j] = dn * r;
    dhp[j] = dh * z;
  }
}

template <typename T>
void gru_bwd_impl(const T* dh1, const T* dh2, const T* Gs, const T* Hp, T* dgx, T* dgh,
                  T* dhp, const Layout& L) {
  const int64_t n = L.inner;
  for_rows(L, [&](int64_t o, int64_t j0, int64_t j1) {
    const int64_t a = o * 3 * n + j0, g = o * 4 * n + j0, s = o * n + j0;
    const T* d1 = dh1 ? dh1 + s : nullptr;
    const T* d2 = dh2 ? dh2 + s : nullptr;
    auto* run = d1 ? (d2 ? gru_bwd_run<T, true, true> : gru_bwd_run<T, true, false>)
                   : (d2 ? gru_bwd_run<T, false, true> : gru_bwd_run<T, false, false>);
    run(d1, d2, Gs + g, Hp + s, dgx + a, dgh + a, dhp + s, j1 - j0, n);
  });
}

void gru_backward(const std::optional<at::Tensor>& dh_out, const std::optional<at::Tensor>& dh_rec,
                  const at::Tensor& gates, const at::Tensor& h_prev, const at::Tensor& dgx,
                  const at::Tensor& dgh, const at::Tensor& dh_prev) {
  const char* op = "rnnkit_conv::gru_backward";
  const Layout L = layout_of(dgx, 3, {&dgh}, {&h_prev, &dh_prev}, op);
  layout_of(gates, 4, {}, {&h_prev}, op);
  for (const auto* t : {&dh_out, &dh_rec}) {
    if (t->has_value() && (*t)->defined()) layout_of(gates, 4, {}, {&t->value()}, op);
  }
  AT_DISPATCH_FLOATING_TYPES(dgx.scalar_type(), "gru_backward", [&] {
    gru_bwd_impl<scalar_t>(opt_ptr<scalar_t>(dh_out), opt_ptr<scalar_t>(dh_rec),
                           gates.data_ptr<scalar_t>(), h_prev.data_ptr<scalar_t>(),
                           dgx.data_ptr<scalar_t>(), dgh.data_ptr<scalar_t>(),
                           dh_prev.data_ptr<scalar_t>(), L);
  });
}

}  // namespace

// Mutated arguments are marked (a!) so that torch never reorders or elides these calls.
TORCH_LIBRARY_FRAGMENT(rnnkit_conv, m) {
  m.def("lstm_forward(Tensor gx, Tensor? gh, Tensor c, Tensor(a!) h_out, Tensor(b!) c_out, "
        "Tensor(c!) gates, bool save, Tensor? w_ci=None, Tensor? w_cf=None, "
        "Tensor? w_co=None) -> ()", &lstm_forward);
  m.def("lstm_backward(Tensor? dh_out, Tensor? dh_rec, Tensor(a!) dc, Tensor gates, "
        "Tensor c_prev, Tensor c_new, Tensor(b!) dA, Tensor? w_ci=None, Tensor? w_cf=None, "
        "Tensor? w_co=None) -> ()", &lstm_backward);
  m.def("gru_forward(Tensor gx, Tensor gh, Tensor h, Tensor(a!) h_out, Tensor(b!) gates, "
        "bool save) -> ()", &gru_forward);
  m.def("gru_backward(Tensor? dh_out, Tensor? dh_rec, Tensor gates, Tensor h_prev, "
        "Tensor(a!) dgx, Tensor(b!) dgh, Tensor(c!) dh_prev) -> ()", &gru_backward);
}
