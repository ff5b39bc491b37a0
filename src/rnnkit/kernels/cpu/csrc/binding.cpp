// Python binding: reads each entry point's arguments by name (named.h, args.h), checks
// the tensors, allocates every buffer, and hands raw pointers to the time loops
// (lstm.cpp, gru.cpp, rnn.cpp) and to the single steps (step.cpp). This file and its
// headers named.h, args.h and slices.h are the only ones that include the torch headers.
#include <torch/extension.h>

#include <limits>
#include <vector>

#include "args.h"
#include "common.h"
#include "named.h"
#include "slices.h"
#include "step.h"

namespace rnnkit {
namespace {

// Debug aid for the tests: fill every buffer the kernel allocates with NaN, so
// that a read of memory the kernel forgot to write shows up in the results.
bool g_poison = false;

at::Tensor alloc(at::IntArrayRef shape, const at::Tensor& like) {
  at::Tensor t = at::empty(shape, like.options());
  if (g_poison) t.fill_(std::numeric_limits<double>::quiet_NaN());
  return t;
}

// Results go back by name: only the tensors this call made.
void put(pybind11::dict& out, const char* key, const at::Tensor& t) {
  if (t.defined()) out[key] = t;
}

// ---- forward: one (layer, direction) ----------------------------------------------
constexpr const char* kForwardKeys[] = {RNNKIT_LAYER_KEYS, "save", "xg", "h0", "c0"};

// args: the LayerArgs keys, plus xg (T, B, G*H), h0 (B, P), c0 (B, H) for the LSTM and
// save (keep what backward needs). Returns out (T, B, P), h_n, c_n (LSTM); with save
// also hs, act, aux (LSTM: c_t before zoneout; GRU: W_hn h + b_hn or r ⊙ h_rec), and the
// LSTM's cs, aux2 (tanh c); with layer norm ln_xh, ln_rh (and the LSTM's ln_xc, ln_rc).
pybind11::dict forward(const pybind11::dict& kw) {
  const Named a(kw, "rnnkit cpu kernel forward", kForwardKeys, std::size(kForwardKeys));
  const LayerArgs l = read_layer(a);
  const bool save = a.flag("save");
  const at::Tensor xg = a.tensor("xg"), h0 = a.tensor("h0");
  TORCH_CHECK_VALUE(xg.dim() == 3, "rnnkit cpu kernel: `xg` must be (T, B, G*H), got ",
                    xg.sizes());
  const Dims d = check_layer(l, xg, xg.size(0), xg.size(1));
  check(xg, xg, "xg", {d.T, d.B, d.G * d.H});
  check(h0, xg, "h0", {d.B, d.P});
  const bool lstm = l.mode == LSTM, ln = l.ln();
  const OptT c0 = lstm ? OptT(a.tensor("c0")) : std::nullopt;
  if (lstm) check(*c0, xg, "c0", {d.B, d.H});
  const int64_t slots = save ? d.T + 1 : 2, rev = l.reverse ? 1 : 0;
  at::Tensor out = alloc({d.T, d.B, d.P}, xg);
  at::Tensor hs = alloc({slots, d.B, d.P}, xg);
  at::Tensor cs = lstm ? alloc({slots, d.B, d.H}, xg) : at::Tensor();
  at::Tensor act, aux, aux2;
  if (save) {
    act = alloc({d.T, d.B, d.G * d.H}, xg);
    if (lstm || l.mode == GRU) aux = alloc({d.T, d.B, d.H}, xg);
    if (lstm) aux2 = alloc({d.T, d.B, d.H}, xg);
  }
  at::Tensor xh, rh, xc, rc;  // LN: normalised W_hh h_rec and c, and their 1/std
  if (save && ln) {
    xh = alloc({d.T, d.B, d.G * d.H}, xg);
    rh = alloc(rstd_shape(l.mode, d), xg);
    if (lstm) {
      xc = alloc({d.T, d.B, d.H}, xg);
      rc = alloc({d.T, d.B}, xg);
    }
  }
  at::Tensor ws = alloc({workspace_size(d.B, d.H, d.P, d.G)}, xg);
  const int64_t first = save ? d.T * rev : (d.T * rev) & 1;
  const int64_t last = save ? d.T * (1 - rev) : (d.T * (1 - rev)) & 1;
  hs[first].copy_(h0);
  if (lstm) cs[first].copy_(*c0);
  AT_DISPATCH_FLOATING_TYPES(xg.scalar_type(), "rnnkit_forward", [&] {
    using T = scalar_t;
    Seq<T> s;
    fill_seq<T>(s, l, d);
    s.save = save;
    s.xg = xg.data_ptr<T>();
    s.out = out.data_ptr<T>();
    s.hs = hs.data_ptr<T>();
    s.cs = lstm ? cs.data_ptr<T>() : nullptr;
    s.act = save ? act.data_ptr<T>() : nullptr;
    s.aux = aux.defined() ? aux.data_ptr<T>() : nullptr;
    s.aux2 = aux2.defined() ? aux2.data_ptr<T>() : nullptr;
    s.ws = ws.data_ptr<T>();
    if (xh.defined()) {
      s.ln_xh = xh.data_ptr<T>(); s.ln_rh = rh.data_ptr<T>();
      if (lstm) { s.ln_xc = xc.data_ptr<T>(); s.ln_rc = rc.data_ptr<T>(); }
    }
    pybind11::gil_scoped_release nogil;
    run_sliced(s, batch_chunks(d, sizeof(T)), s.ws, [&](Seq<T>& r) {
      if (lstm) lstm_forward(r);
      else if (l.mode == GRU) gru_forward(r);
      else rnn_forward(r);
    });
  });
  pybind11::dict res;
  put(res, "out", out);
  put(res, "h_n", hs[last].clone());
  if (lstm) put(res, "c_n", cs[last].clone());
  if (save) {
    put(res, "hs", hs); put(res, "cs", cs); put(res, "act", act); put(res, "aux", aux);
    put(res, "aux2", aux2);
    put(res, "ln_xh", xh); put(res, "ln_rh", rh); put(res, "ln_xc", xc); put(res, "ln_rc", rc);
  }
  return res;
}

// ---- backward: BPTT of one (layer, direction) --------------------------------------
constexpr const char* kBackwardKeys[] = {RNNKIT_LAYER_KEYS, "hs", "cs", "act", "aux", "aux2",
                                         "ln_xh", "ln_rh", "ln_xc", "ln_rc", "d_out", "d_h_n",
                                         "d_c_n"};

// args: the LayerArgs keys, what forward saved (by the names it returned them under) and
// the upstream grads d_out (T, B, P), d_h_n (B, P), d_c_n (B, H), each optional. Returns
// d_xg, d_h0, the LSTM's d_c0, the LN gains' d_ln_hh, d_ln_c_weight, d_ln_c_bias, and the
// intermediate grads the weight grads come from (function.py): d_gh (GRU reset_after, or
// LSTM / RNN with LN: grad of W_hh h_rec, after the LN), d_ghp (GRU with LN: the grad of
// the W_hh products before their LN), d_y (LSTM projection: grad of W_hr (o ⊙ tanh c)).
pybind11::dict backward(const pybind11::dict& kw) {
  const Named a(kw, "rnnkit cpu kernel backward", kBackwardKeys, std::size(kBackwardKeys));
  const LayerArgs l = read_layer(a);
  const at::Tensor act = a.tensor("act"), hs = a.tensor("hs");
  TORCH_CHECK_VALUE(act.dim() == 3, "rnnkit cpu kernel: `act` must be (T, B, G*H), got ",
                    act.sizes());
  const Dims d = check_layer(l, act, act.size(0), act.size(1));
  const bool lstm = l.mode == LSTM, ln = l.ln();
  check(act, act, "act", {d.T, d.B, d.G * d.H});
  check(hs, act, "hs", {d.T + 1, d.B, d.P});
  const OptT aux = (lstm || l.mode == GRU) ? OptT(a.tensor("aux")) : a.opt("aux");
  if (aux) check(*aux, act, "aux", {d.T, d.B, d.H});
  const OptT cs = lstm ? OptT(a.tensor("cs")) : std::nullopt;
  const OptT aux2 = lstm ? OptT(a.tensor("aux2")) : std::nullopt;
  if (lstm) {
    check(*cs, act, "cs", {d.T + 1, d.B, d.H});
    check(*aux2, act, "aux2", {d.T, d.B, d.H});
  }
  const OptT dout = a.opt("d_out"), dhN = a.opt("d_h_n"), dcN = a.opt("d_c_n");
  if (dout) check(*dout, act, "d_out", {d.T, d.B, d.P});
  if (dhN) check(*dhN, act, "d_h_n", {d.B, d.P});
  if (dcN) check(*dcN, act, "d_c_n", {d.B, d.H});
  OptT xh, rh, xc, rc;
  if (ln) {
    xh = a.tensor("ln_xh");
    rh = a.tensor("ln_rh");
    check(*xh, act, "ln_xh", {d.T, d.B, d.G * d.H});
    if (l.mode == GRU) check(*rh, act, "ln_rh", {d.T, d.B, 2});
    else check(*rh, act, "ln_rh", {d.T, d.B});
    if (lstm) {
      xc = a.tensor("ln_xc");
      rc = a.tensor("ln_rc");
      check(*xc, act, "ln_xc", {d.T, d.B, d.H});
      check(*rc, act, "ln_rc", {d.T, d.B});
    }
  } else {
    a.refuse({"ln_xh", "ln_rh", "ln_xc", "ln_rc"}, "there is no layer normalisation (no ln_hh)");
  }
  at::Tensor dxg = alloc({d.T, d.B, d.G * d.H}, act);
  at::Tensor dgh = ((l.mode == GRU && l.reset_after) || (ln && l.mode != GRU))
                       ? alloc({d.T, d.B, d.G * d.H}, act) : at::Tensor();
  at::Tensor dghp = (ln && l.mode == GRU) ? alloc({d.T, d.B, d.G * d.H}, act) : at::Tensor();
  // LN gain grads: accumulated in double (common.h), returned in the input's dtype
  const auto f64 = act.options().dtype(at::kDouble);
  at::Tensor d_lnhh = ln ? at::zeros({d.G * d.H}, f64) : at::Tensor();
  at::Tensor d_lncw = ln && lstm ? at::zeros({d.H}, f64) : at::Tensor();
  at::Tensor d_lncb = ln && lstm ? at::zeros({d.H}, f64) : at::Tensor();
  at::Tensor dy = (lstm && l.w_hr) ? alloc({d.T, d.B, d.P}, act) : at::Tensor();
  at::Tensor dh0 = alloc({d.B, d.P}, act);
  at::Tensor dc0 = lstm ? alloc({d.B, d.H}, act) : at::Tensor();
  at::Tensor ws = alloc({workspace_size(d.B, d.H, d.P, d.G)}, act);
  AT_DISPATCH_FLOATING_TYPES(act.scalar_type(), "rnnkit_backward", [&] {
    using T = scalar_t;
    Seq<T> s;
    fill_seq<T>(s, l, d);
    s.save = true;
    s.hs = hs.data_ptr<T>();
    s.cs = lstm ? cs->data_ptr<T>() : nullptr;
    s.act = act.data_ptr<T>();
    // read only in backward; Seq keeps one pointer type for both passes
    s.aux = const_cast<T*>(cptr<T>(aux));
    s.aux2 = const_cast<T*>(cptr<T>(aux2));
    s.dout = cptr<T>(dout);
    s.dhN = cptr<T>(dhN);
    s.dcN = cptr<T>(dcN);
    s.dxg = dxg.data_ptr<T>();
    s.dgh = dgh.defined() ? dgh.data_ptr<T>() : nullptr;
    s.dy = dy.defined() ? dy.data_ptr<T>() : nullptr;
    s.dh0 = dh0.data_ptr<T>();
    s.dc0 = lstm ? dc0.data_ptr<T>() : nullptr;
    s.ws = ws.data_ptr<T>();
    if (ln) {  // read only in backward
      s.ln_xh = const_cast<T*>(cptr<T>(xh));
      s.ln_rh = const_cast<T*>(cptr<T>(rh));
      s.ln_xc = const_cast<T*>(cptr<T>(xc));
      s.ln_rc = const_cast<T*>(cptr<T>(rc));
      s.d_lnhh = d_lnhh.data_ptr<double>();
      if (dghp.defined()) s.dghp = dghp.data_ptr<T>();
      if (lstm) {
        s.d_lncw = d_lncw.data_ptr<double>();
        s.d_lncb = d_lncb.data_ptr<double>();
      }
    }
    pybind11::gil_scoped_release nogil;
    run_sliced(s, batch_chunks(d, sizeof(T)), s.ws, [&](Seq<T>& r) {
      if (lstm) lstm_backward(r);
      else if (l.mode == GRU) gru_backward(r);
      else rnn_backward(r);
    });
  });
  const auto dt = act.scalar_type();
  const auto back = [dt](const at::Tensor& g) { return g.defined() ? g.to(dt) : g; };
  pybind11::dict res;
  put(res, "d_xg", dxg); put(res, "d_h0", dh0); put(res, "d_c0", dc0);
  put(res, "d_ln_hh", back(d_lnhh)); put(res, "d_ln_c_weight", back(d_lncw));
  put(res, "d_ln_c_bias", back(d_lncb));
  put(res, "d_gh", dgh); put(res, "d_ghp", dghp); put(res, "d_y", dy);
  return res;
}

// ---- streaming steps (inference) ----------------------------------------------------
constexpr const char* kStepKeys[] = {"mode", "reset_after", "x", "h", "c", "w_ih", "w_hh",
                                     "b_ih", "b_hh"};

// args: x (B, I), h (B, H), the LSTM's c (B, H), w_ih (G*H, I), w_hh (G*H, H), b_ih and
// b_hh (G*H) or None, the GRU's reset_after. Returns h (B, H) and the LSTM's c (B, H).
pybind11::dict cell_step(const pybind11::dict& kw) {
  const Named a(kw, "rnnkit cpu step", kStepKeys, std::size(kStepKeys));
  const Mode mode = read_mode(a);
  if (mode != LSTM) a.refuse({"c"}, "it is the LSTM's and mode='", mode_name(mode), "'");
  if (mode != GRU) a.refuse({"reset_after"}, "it is the GRU's and mode='", mode_name(mode), "'");
  const bool reset_after = mode == GRU ? a.flag("reset_after") : true;
  // A column slice x[:, t] arrives strided: copy here (a no-op when contiguous), which
  // costs less than three .contiguous() calls from Python per step.
  const at::Tensor x = a.tensor("x").contiguous(), h = a.tensor("h").contiguous();
  const OptT c = mode == LSTM ? OptT(a.tensor("c").contiguous()) : std::nullopt;
  const at::Tensor w_ih = a.tensor("w_ih"), w_hh = a.tensor("w_hh");
  const OptT b_ih = a.opt("b_ih"), b_hh = a.opt("b_hh");
  TORCH_CHECK_VALUE(x.dim() == 2 && w_hh.dim() == 2,
                    "rnnkit cpu step: `x` must be (B, I) and `w_hh` (G*H, H)");
  TORCH_CHECK_TYPE(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble,
                   "rnnkit cpu step: float32 or float64 only, got ", x.scalar_type());
  const int64_t B = x.size(0), I = x.size(1), H = w_hh.size(1), G = gate_count(mode);
  check(x, x, "x", {B, I});
  check(h, x, "h", {B, H});
  check(w_ih, x, "w_ih", {G * H, I});
  check(w_hh, x, "w_hh", {G * H, H});
  if (b_ih) check(*b_ih, x, "b_ih", {G * H});
  if (b_hh) check(*b_hh, x, "b_hh", {G * H});
  if (c) check(*c, x, "c", {B, H});
  at::Tensor h1 = alloc({B, H}, x);
  at::Tensor c1 = mode == LSTM ? alloc({B, H}, x) : at::Tensor();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "rnnkit_step", [&] {
    using T = scalar_t;
    // Streaming calls this per step: keep its scratch instead of allocating it each time.
    thread_local std::vector<T> scratch;
    scratch.resize(size_t(step_workspace_size(B, H, G)));
    if (g_poison) std::fill(scratch.begin(), scratch.end(), std::numeric_limits<T>::quiet_NaN());
    StepArgs<T> st{B, I, H, x.data_ptr<T>(), h.data_ptr<T>(), cptr<T>(c), w_ih.data_ptr<T>(),
                   w_hh.data_ptr<T>(), cptr<T>(b_ih), cptr<T>(b_hh), scratch.data(),
                   h1.data_ptr<T>(), c1.defined() ? c1.data_ptr<T>() : nullptr};
    if (mode == LSTM) lstm_cell<T>(st);
    else if (mode == GRU) gru_cell<T>(st, reset_after);
    else rnn_cell<T>(st, mode == RNN_RELU);
  });
  pybind11::dict res;
  put(res, "h", h1);
  put(res, "c", c1);
  return res;
}

}  // namespace
}  // namespace rnnkit

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "rnnkit's fused CPU recurrent kernels (see rnnkit/kernels/cpu)";
  m.def("forward", &rnnkit::forward);
  m.def("backward", &rnnkit::backward);
  m.def("set_poison", [](bool on) { rnnkit::g_poison = on; });
  m.def("poison", []() { return rnnkit::g_poison; });
  m.def("set_batch_slices", [](int64_t n) { rnnkit::g_slices = n < 0 ? 0 : n; });
  m.def("mkl_threads_in_slice", &rnnkit::mkl_threads_in_slice);
  m.def("blas_name", []() { return std::string(rnnkit::blas_name()); });
  m.def("cell_step", &rnnkit::cell_step);
}
