// Fused per-step gate updates of the convolutional recurrences (ConvLSTM, ConvGRU) and
// their hand-written backward: one pass over the gate pre-activations of one step.
// The convolutions stay torch's (kernels/conv_fused.py runs them); this file does the
// element-wise part that is otherwise ~15 torch ops per step (the equations of
// rnnkit/cells/conv_lstm.py and conv_gru.py, sigmoid / tanh, no peephole, no layer norm).
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
// A = gx + gh (B, 4F, *S) as i | f | g | o (gh may be absent);  i, f, o = σ(A_·), g = tanh(A_g);
// C_t = f ∘ C_{t-1} + i ∘ g;  H_t = o ∘ tanh(C_t).  With save, the activated i, f, g, o
// go to `gates` (same layout as A) for the backward.
// One run of n values of a row: the pointers are offset to the run's first value; gate
// block k of A is at k·stride. __restrict__: no buffer aliases another, which lets GCC
// vectorise the loop without run-time overlap checks (it gives up past ~10 of them).
// SAVE: keep the activated gates; GH: add gh (absent when gx is the whole pre-activation).
template <typename T, bool SAVE, bool GH>
void lstm_fwd_run(const T* __restrict__ X, const T* __restrict__ Hh, const T* __restrict__ C,
                  T* __restrict__ Ho, T* __restrict__ Co, T* __restrict__ Gs, int64_t n,
                  int64_t stride) {
  for (int64_t j = 0; j < n; ++j) {
    const T i = sigm<T>(X[j] + (GH ? Hh[j] : T(0)));
    const T f = sigm<T>(X[stride + j] + (GH ? Hh[stride + j] : T(0)));
    const T g = tanh_<T>(X[2 * stride + j] + (GH ? Hh[2 * stride + j] : T(0)));
    const T og = sigm<T>(X[3 * stride + j] + (GH ? Hh[3 * stride + j] : T(0)));
    const T cn = f * C[j] + i * g;
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

template <typename T>
void lstm_fwd_impl(const at::Tensor& gx, const T* Hh, const at::Tensor& c,
                   const at::Tensor& h_out, const at::Tensor& c_out, const at::Tensor& gates,
                   bool save, const Layout& L) {
  const T* X = gx.data_ptr<T>();
  const T* C = c.data_ptr<T>();
  T* Ho = h_out.data_ptr<T>();
  T* Co = c_out.data_ptr<T>();
  T* Gs = save ? gates.data_ptr<T>() : nullptr;
  const int64_t n = L.inner;
  auto* run = save ? (Hh ? lstm_fwd_run<T, true, true> : lstm_fwd_run<T, true, false>)
                   : (Hh ? lstm_fwd_run<T, false, true> : lstm_fwd_run<T, false, false>);
  for_rows(L, [&](int64_t o, int64_t j0, int64_t j1) {
    const int64_t a = o * 4 * n + j0, s = o * n + j0;
    run(X + a, Hh ? Hh + a : nullptr, C + s, Ho + s, Co + s, Gs ? Gs + a : nullptr, j1 - j0, n);
  });
}

void lstm_forward(const at::Tensor& gx, const std::optional<at::Tensor>& gh, const at::Tensor& c,
                  const at::Tensor& h_out, const at::Tensor& c_out, const at::Tensor& gates,
                  bool save) {
  const char* op = "rnnkit_conv::lstm_forward";
  const Layout L = layout_of(gx, 4, {}, {&c, &h_out, &c_out}, op);
  const bool has_gh = gh.has_value() && gh->defined();
  if (has_gh) layout_of(gx, 4, {&gh.value()}, {}, op);
  if (save) layout_of(gx, 4, {&gates}, {}, op);
  AT_DISPATCH_FLOATING_TYPES(gx.scalar_type(), "lstm_forward", [&] {
    lstm_fwd_impl<scalar_t>(gx, has_gh ? gh->data_ptr<scalar_t>() : nullptr, c, h_out, c_out,
                            gates, save, L);
  });
}

// Backward of one step. dH = dh_out + dh_rec (either may be absent), dC the carried
// gradient of C_t (overwritten with that of C_{t-1}):
//   dC += dH ∘ o ∘ (1 − tanh²C_t);  dA_o = dH ∘ tanh C_t ∘ o(1 − o)
//   dA_i = dC ∘ g ∘ i(1 − i);  dA_f = dC ∘ C_{t-1} ∘ f(1 − f);  dA_g = dC ∘ i ∘ (1 − g²)
//   dC_{t-1} = dC ∘ f.
// H1, H2: whether dh_out / dh_rec are given (template flags keep the loop branch-free).
template <typename T, bool H1, bool H2>
void lstm_bwd_run(const T* __restrict__ dh1, const T* __restrict__ dh2, T* __restrict__ dc,
                  const T* __restrict__ Gs, const T* __restrict__ Cp, const T* __restrict__ Cn,
                  T* __restrict__ dA, int64_t n, int64_t stride) {
  for (int64_t j = 0; j < n; ++j) {
    const T dh = (H1 ? dh1[j] : T(0)) + (H2 ? dh2[j] : T(0));
    const T i = Gs[j], f = Gs[stride + j], g = Gs[2 * stride + j], og = Gs[3 * stride + j];
    const T tc = tanh_<T>(Cn[j]);
    const T dct = dc[j] + dh * og * (T(1) - tc * tc);
    dA[j] = dct * g * i * (T(1) - i);
    dA[stride + j] = dct * Cp[j] * f * (T(1) - f);
    dA[2 * stride + j] = dct * i * (T(1) - g * g);
    dA[3 * stride + j] = dh * tc * og * (T(1) - og);
    dc[j] = dct * f;
  }
}

template <typename T>
void lstm_bwd_impl(const T* dh1, const T* dh2, T* dc, const T* Gs, const T* Cp, const T* Cn,
                   T* dA, const Layout& L) {
  const int64_t n = L.inner;
  for_rows(L, [&](int64_t o, int64_t j0, int64_t j1) {
    const int64_t a = o * 4 * n + j0, s = o * n + j0;
    const T* d1 = dh1 ? dh1 + s : nullptr;
    const T* d2 = dh2 ? dh2 + s : nullptr;
    auto* run = d1 ? (d2 ? lstm_bwd_run<T, true, true> : lstm_bwd_run<T, true, false>)
                   : (d2 ? lstm_bwd_run<T, false, true> : lstm_bwd_run<T, false, false>);
    run(d1, d2, dc + s, Gs + a, Cp + s, Cn + s, dA + a, j1 - j0, n);
  });
}

template <typename T>
const T* opt_ptr(const std::optional<at::Tensor>& t) {
  return t.has_value() && t->defined() ? t->data_ptr<T>() : nullptr;
}

void lstm_backward(const std::optional<at::Tensor>& dh_out, const std::optional<at::Tensor>& dh_rec,
                   const at::Tensor& dc, const at::Tensor& gates, const at::Tensor& c_prev,
                   const at::Tensor& c_new, const at::Tensor& dA) {
  const char* op = "rnnkit_conv::lstm_backward";
  const Layout L = layout_of(gates, 4, {&dA}, {&dc, &c_prev, &c_new}, op);
  for (const auto* t : {&dh_out, &dh_rec}) {
    if (t->has_value() && (*t)->defined()) layout_of(gates, 4, {}, {&t->value()}, op);
  }
  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "lstm_backward", [&] {
    lstm_bwd_impl<scalar_t>(opt_ptr<scalar_t>(dh_out), opt_ptr<scalar_t>(dh_rec),
                            dc.data_ptr<scalar_t>(), gates.data_ptr<scalar_t>(),
                            c_prev.data_ptr<scalar_t>(), c_new.data_ptr<scalar_t>(),
                            dA.data_ptr<scalar_t>(), L);
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
        "Tensor(c!) gates, bool save) -> ()", &lstm_forward);
  m.def("lstm_backward(Tensor? dh_out, Tensor? dh_rec, Tensor(a!) dc, Tensor gates, "
        "Tensor c_prev, Tensor c_new, Tensor(b!) dA) -> ()", &lstm_backward);
  m.def("gru_forward(Tensor gx, Tensor gh, Tensor h, Tensor(a!) h_out, Tensor(b!) gates, "
        "bool save) -> ()", &gru_forward);
  m.def("gru_backward(Tensor? dh_out, Tensor? dh_rec, Tensor gates, Tensor h_prev, "
        "Tensor(a!) dgx, Tensor(b!) dgh, Tensor(c!) dh_prev) -> ()", &gru_backward);
}
