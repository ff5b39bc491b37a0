// Python binding: checks the tensors, allocates every buffer, and hands raw
// pointers to the time loops (lstm.cpp, gru.cpp, rnn.cpp) and to the single
// steps (step.cpp). This is the only file that includes the torch headers.
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/extension.h>

#include <algorithm>
#include <limits>
#include <vector>
#include <optional>

#include "common.h"
#include "step.h"

namespace rnnkit {
namespace {

using OptT = std::optional<at::Tensor>;

// Debug aid for the tests: fill every buffer the kernel allocates with NaN, so
// that a read of memory the kernel forgot to write shows up in the results.
bool g_poison = false;
// Test aid: run every sequence as this many batch slices (0: decide by size and threads).
int64_t g_slices = 0;

at::Tensor alloc(at::IntArrayRef shape, const at::Tensor& like) {
  at::Tensor t = at::empty(shape, like.options());
  if (g_poison) t.fill_(std::numeric_limits<double>::quiet_NaN());
  return t;
}

// Bad arguments raise ValueError / TypeError in Python (TORCH_CHECK_VALUE / _TYPE).
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

// Shared checks of forward and backward; returns the sizes.
Dims check_all(int64_t mode, const at::Tensor& like, const at::Tensor& w_hh, const OptT& b_hn,
               const OptT& w_ci, const OptT& w_cf, const OptT& w_co, const OptT& w_hr,
               const OptT& mask, const OptT& rec_mask, const OptT& zone_h, const OptT& zone_c,
               int64_t T, int64_t B) {
  TORCH_CHECK(mode >= RNN_TANH && mode <= GRU, "rnnkit cpu kernel: unknown mode ", mode);
  TORCH_CHECK(like.scalar_type() == at::kFloat || like.scalar_type() == at::kDouble,
              "rnnkit cpu kernel: float32 or float64 only, got ", like.scalar_type());
  const int64_t G = mode == LSTM ? 4 : (mode == GRU ? 3 : 1);
  TORCH_CHECK(w_hh.dim() == 2 && w_hh.size(0) % G == 0, "rnnkit cpu kernel: bad weight_hh");
  const int64_t H = w_hh.size(0) / G, P = w_hh.size(1);
  check(w_hh, like, "weight_hh", {G * H, P});
  TORCH_CHECK(w_hr.has_value() || P == H, "rnnkit cpu kernel: weight_hh has ", P,
              " columns but hidden_size is ", H, " and there is no projection");
  if (b_hn) check(*b_hn, like, "b_hn", {H});
  if (w_ci) check(*w_ci, like, "weight_ci", {H});
  if (w_cf) check(*w_cf, like, "weight_cf", {H});
  if (w_co) check(*w_co, like, "weight_co", {H});
  if (w_hr) check(*w_hr, like, "weight_hr", {P, H});
  if (mask) {
    TORCH_CHECK(mask->scalar_type() == at::kBool && mask->is_contiguous() &&
                    mask->sizes().equals({T, B}),
                "rnnkit cpu kernel: `mask` must be a contiguous (T, B) bool tensor");
  }
  if (rec_mask) check(*rec_mask, like, "rec_mask", {B, P});
  if (zone_h) check(*zone_h, like, "zone_h", {T, B, P});
  if (zone_c) check(*zone_c, like, "zone_c", {T, B, H});
  return {T, B, H, P, G};
}

template <typename T>
void fill_seq(Seq<T>& s, int64_t mode, bool reverse, bool reset_after, const Dims& d,
              const at::Tensor& w_hh, const OptT& b_hn, const OptT& w_ci, const OptT& w_cf,
              const OptT& w_co, const OptT& w_hr, const OptT& mask, const OptT& rec_mask,
              const OptT& zone_h, double zh, const OptT& zone_c, double zc) {
  s.T_ = d.T; s.B = d.B; s.H = d.H; s.P = d.P; s.bs = d.B;
  s.mode = int(mode); s.reverse = reverse; s.reset_after = reset_after;
  s.w_hh = w_hh.data_ptr<T>();
  s.b_hn = cptr<T>(b_hn);
  s.w_ci = cptr<T>(w_ci); s.w_cf = cptr<T>(w_cf); s.w_co = cptr<T>(w_co);
  s.w_hr = cptr<T>(w_hr);
  s.mask = mask ? mask->data_ptr<bool>() : nullptr;
  s.rec_mask = cptr<T>(rec_mask);
  s.zone_h = cptr<T>(zone_h); s.zone_c = cptr<T>(zone_c);
  s.zh = T(zh); s.zc = T(zc);
}

// Layer normalisation: γ_hh for every mode, plus γ_c and β_c for the LSTM; all
// of them or none. True when given.
bool check_ln(int64_t mode, const at::Tensor& like, const Dims& d, const OptT& ln_hh,
              const OptT& ln_cw, const OptT& ln_cb) {
  if (!(ln_hh || ln_cw || ln_cb)) return false;
  if (mode == LSTM) {
    TORCH_CHECK_VALUE(ln_hh && ln_cw && ln_cb, "rnnkit cpu kernel: the LSTM's layer "
                      "normalisation needs ln_hh, ln_c_weight and ln_c_bias");
    check(*ln_cw, like, "ln_c_weight", {d.H});
    check(*ln_cb, like, "ln_c_bias", {d.H});
  } else {
    TORCH_CHECK_VALUE(ln_hh && !ln_cw && !ln_cb, "rnnkit cpu kernel: the RNN's and GRU's layer "
                      "normalisation takes ln_hh only (no ln_c_weight, ln_c_bias)");
  }
  check(*ln_hh, like, "ln_hh", {d.G * d.H});
  return true;
}

// The saved 1/std per row: one LN per row, two for the GRU ([r, z] and n).
std::vector<int64_t> rstd_shape(int64_t mode, const Dims& d) {
  if (mode == GRU) return {d.T, d.B, 2};
  return {d.T, d.B};
}

template <typename T>
void fill_ln(Seq<T>& s, const OptT& ln_hh, const OptT& ln_cw, const OptT& ln_cb, double eps) {
  s.ln_hh = cptr<T>(ln_hh); s.ln_cw = cptr<T>(ln_cw); s.ln_cb = cptr<T>(ln_cb);
  s.eps = T(eps);
}

// ---- batch slices on torch's intra-op threads ---------------------------------
// The rows of a batch never meet inside a recurrent layer, so a (layer, direction)
// runs as `chunks` independent slices of the batch, one per thread: no locks and no
// per-step barrier, each core streaming W_hh from its own cache. One thread (torch's
// setting), one row, or too little work for a parallel region's few µs: one slice.
// Nor when W_hh outgrows a core's L2 (> 1 MiB) and the slices would be thin: then
// each core would stream all of W_hh from L3 every step, where one call lets MKL
// split each step's product over the gate columns, half of W_hh per core (measured
// here: a GRU at B=8, H=512 runs 1.5x slower as two slices).
int64_t batch_chunks(const Dims& d, int64_t elem_bytes) {
  if (g_slices > 0) return std::max<int64_t>(1, std::min(g_slices, d.B));
  const int64_t threads = at::get_num_threads();
  if (threads < 2 || d.B < 2 || at::in_parallel_region()) return 1;
  const double madds = double(d.T) * d.B * d.G * d.H * d.P;  // the recurrent products
  if (madds < 2e6) return 1;
  const int64_t chunks = std::min(threads, d.B);
  const double w_bytes = double(d.G) * d.H * d.P * elem_bytes;
  if (w_bytes > double(1 << 20) && d.B / chunks < 32) return 1;
  return chunks;
}

int64_t chunk_start(int64_t B, int64_t chunks, int64_t c) { return c * B / chunks; }

// Rows [b0, b0 + nb) of s as a Seq of their own: the same steps and weights, every
// per-row pointer moved to row b0, the time stride (bs) kept; ws and the LN gain
// accumulators are the slice's own.
template <typename T>
Seq<T> batch_slice(const Seq<T>& s, int64_t b0, int64_t nb, T* ws, double* lnhh,
                   double* lncw, double* lncb) {
  Seq<T> r = s;
  r.B = nb;
  const int64_t H = s.H, P = s.P, G = s.gates() * H;
  const auto mv = [b0](auto*& p, int64_t width) {
    if (p != nullptr) p += b0 * width;
  };
  mv(r.xg, G); mv(r.mask, 1); mv(r.rec_mask, P); mv(r.zone_h, P); mv(r.zone_c, H);
  mv(r.ln_xh, G); mv(r.ln_rh, s.mode == GRU ? 2 : 1); mv(r.ln_xc, H); mv(r.ln_rc, 1);
  mv(r.out, P); mv(r.hs, P); mv(r.cs, H); mv(r.act, G); mv(r.aux, H); mv(r.aux2, H);
  mv(r.dout, P); mv(r.dhN, P); mv(r.dcN, H); mv(r.dxg, G); mv(r.dgh, G); mv(r.dghp, G);
  mv(r.dy, P); mv(r.dh0, P); mv(r.dc0, H);
  r.ws = ws;
  r.d_lnhh = s.d_lnhh ? lnhh : nullptr;
  r.d_lncw = s.d_lncw ? lncw : nullptr;
  r.d_lncb = s.d_lncb ? lncb : nullptr;
  return r;
}

// No nested parallel region inside a slice: the BLAS calls of a slice's time loop run on
// the slice's own thread. MKL already does so by default inside an OpenMP region
// (MKL_DYNAMIC), but a user's MKL_DYNAMIC=FALSE would let each slice start a team of its
// own, 2 x 2 threads on 2 cores. MKL_Set_Num_Threads_Local (MKL's thread-local count;
// the lowercase symbol is the Fortran one, taking a pointer;
// found in the loaded torch libraries as blas.cpp finds sgemm_) makes sure; without MKL
// there is nothing to do.
struct MklOneThread {
  using set_local_t = int (*)(int);
  static set_local_t fn() {
    static const set_local_t f =
        reinterpret_cast<set_local_t>(dlsym(RTLD_DEFAULT, "MKL_Set_Num_Threads_Local"));
    return f;
  }
  int prev = 0;
  MklOneThread() { if (fn()) prev = fn()(1); }
  ~MklOneThread() { if (fn()) fn()(prev); }
};

// Test aid: MKL's thread count as a slice's thread sees it (1 when MklOneThread works).
int64_t mkl_threads_in_slice() {
  using get_t = int (*)();
  static const get_t get = reinterpret_cast<get_t>(dlsym(RTLD_DEFAULT, "MKL_Get_Max_Threads"));
  if (get == nullptr) return -1;
  int64_t seen = -1;
  at::parallel_for(0, 2, 1, [&](int64_t lo, int64_t) {
    const MklOneThread one_thread;
    if (lo == 0) seen = get();
  });
  return seen;
}

// Runs fn on each slice of s, in parallel. ws holds workspace_size(B, ...) elements
// (linear in B, so slice c takes the part from its first row on). The LN gain grads
// are summed per slice in acc (chunks, G*H + 2H doubles) and added up here.
template <typename T, typename F>
void run_sliced(Seq<T>& s, int64_t chunks, T* ws, F fn) {
  if (chunks <= 1) {
    fn(s);
    return;
  }
  const int64_t G = s.gates() * s.H, H = s.H, per_row = workspace_size(1, H, s.P, s.gates());
  const int64_t width = G + 2 * H;
  std::vector<double> acc(size_t(chunks * width), 0.0);
  at::parallel_for(0, chunks, 1, [&](int64_t lo, int64_t hi) {
    const MklOneThread one_thread;
    for (int64_t c = lo; c < hi; ++c) {
      const int64_t b0 = chunk_start(s.B, chunks, c), b1 = chunk_start(s.B, chunks, c + 1);
      double* a = acc.data() + c * width;
      Seq<T> r = batch_slice(s, b0, b1 - b0, ws + b0 * per_row, a, a + G, a + G + H);
      fn(r);
    }
  });
  for (int64_t c = 0; c < chunks; ++c) {
    const double* a = acc.data() + c * width;
    for (int64_t j = 0; j < G && s.d_lnhh; ++j) s.d_lnhh[j] += a[j];
    for (int64_t j = 0; j < H && s.d_lncw; ++j) s.d_lncw[j] += a[G + j];
    for (int64_t j = 0; j < H && s.d_lncb; ++j) s.d_lncb[j] += a[G + H + j];
  }
}

// One (layer, direction): returns [out, h_n, c_n, hs, cs, act, aux, aux2, xh, rh,
// xc, rc]; from hs on the saved activations (undefined where not needed; the
// last four with layer normalisation only).
std::vector<at::Tensor> forward(int64_t mode, bool reverse, bool reset_after, bool save,
                                const at::Tensor& xg, const at::Tensor& w_hh, const OptT& b_hn,
                                const at::Tensor& h0, const OptT& c0, const OptT& w_ci,
                                const OptT& w_cf, const OptT& w_co, const OptT& w_hr,
                                const OptT& mask, const OptT& rec_mask, const OptT& zone_h,
                                double zh, const OptT& zone_c, double zc, const OptT& ln_hh,
                                const OptT& ln_cw, const OptT& ln_cb, double eps) {
  TORCH_CHECK(xg.dim() == 3, "rnnkit cpu kernel: xg must be (T, B, G*H)");
  const Dims d = check_all(mode, xg, w_hh, b_hn, w_ci, w_cf, w_co, w_hr, mask, rec_mask, zone_h,
                           zone_c, xg.size(0), xg.size(1));
  check(xg, xg, "xg", {d.T, d.B, d.G * d.H});
  check(h0, xg, "h0", {d.B, d.P});
  const bool lstm = mode == LSTM;
  if (lstm) {
    TORCH_CHECK(c0.has_value(), "rnnkit cpu kernel: LSTM needs c0");
    check(*c0, xg, "c0", {d.B, d.H});
  }
  const bool ln = check_ln(mode, xg, d, ln_hh, ln_cw, ln_cb);
  const int64_t slots = save ? d.T + 1 : 2, rev = reverse ? 1 : 0;
  at::Tensor out = alloc({d.T, d.B, d.P}, xg);
  at::Tensor hs = alloc({slots, d.B, d.P}, xg);
  at::Tensor cs = lstm ? alloc({slots, d.B, d.H}, xg) : at::Tensor();
  at::Tensor act, aux, aux2;
  if (save) {
    act = alloc({d.T, d.B, d.G * d.H}, xg);
    if (mode == LSTM || mode == GRU) aux = alloc({d.T, d.B, d.H}, xg);
    if (lstm) aux2 = alloc({d.T, d.B, d.H}, xg);
  }
  at::Tensor xh, rh, xc, rc;  // LN: normalised W_hh h_rec and c, and their 1/std
  if (save && ln) {
    xh = alloc({d.T, d.B, d.G * d.H}, xg);
    rh = alloc(rstd_shape(mode, d), xg);
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
    Seq<scalar_t> s;
    fill_seq<scalar_t>(s, mode, reverse, reset_after, d, w_hh, b_hn, w_ci, w_cf, w_co, w_hr,
                       mask, rec_mask, zone_h, zh, zone_c, zc);
    s.save = save;
    s.xg = xg.data_ptr<scalar_t>();
    s.out = out.data_ptr<scalar_t>();
    s.hs = hs.data_ptr<scalar_t>();
    s.cs = lstm ? cs.data_ptr<scalar_t>() : nullptr;
    s.act = save ? act.data_ptr<scalar_t>() : nullptr;
    s.aux = aux.defined() ? aux.data_ptr<scalar_t>() : nullptr;
    s.aux2 = aux2.defined() ? aux2.data_ptr<scalar_t>() : nullptr;
    s.ws = ws.data_ptr<scalar_t>();
    fill_ln<scalar_t>(s, ln_hh, ln_cw, ln_cb, eps);
    if (xh.defined()) {
      s.ln_xh = xh.data_ptr<scalar_t>(); s.ln_rh = rh.data_ptr<scalar_t>();
      if (lstm) { s.ln_xc = xc.data_ptr<scalar_t>(); s.ln_rc = rc.data_ptr<scalar_t>(); }
    }
    pybind11::gil_scoped_release nogil;
    run_sliced(s, batch_chunks(d, sizeof(scalar_t)), s.ws, [&](Seq<scalar_t>& r) {
      if (lstm) lstm_forward(r);
      else if (mode == GRU) gru_forward(r);
      else rnn_forward(r);
    });
  });
  at::Tensor hN = hs[last].clone();
  at::Tensor cN = lstm ? cs[last].clone() : at::Tensor();
  if (!save) return {out, hN, cN, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(),
                     at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  return {out, hN, cN, hs, cs, act, aux, aux2, xh, rh, xc, rc};
}

// BPTT of one (layer, direction): returns [dxg, dgh, dy, dh0, dc0, d_ln_hh, d_ln_c_weight,
// d_ln_c_bias, dghp] (dgh: GRU reset_after, or LSTM / RNN with LN: grad of W_hh h_rec;
// dy: LSTM projection only; the LN grads: with LN (γ_c, β_c: LSTM); dghp: GRU with LN,
// the grad of the W_hh products before their LN).
std::vector<at::Tensor> backward(int64_t mode, bool reverse, bool reset_after,
                                 const at::Tensor& w_hh, const OptT& b_hn, const OptT& w_ci,
                                 const OptT& w_cf, const OptT& w_co, const OptT& w_hr,
                                 const OptT& mask, const OptT& rec_mask, const OptT& zone_h,
                                 double zh, const OptT& zone_c, double zc, const at::Tensor& hs,
                                 const OptT& cs, const at::Tensor& act, const OptT& aux,
                                 const OptT& aux2, const OptT& dout, const OptT& dhN,
                                 const OptT& dcN, const OptT& ln_hh, const OptT& ln_cw,
                                 const OptT& ln_cb, double eps, const OptT& xh, const OptT& rh,
                                 const OptT& xc, const OptT& rc) {
  TORCH_CHECK(act.dim() == 3, "rnnkit cpu kernel: act must be (T, B, G*H)");
  const Dims d = check_all(mode, act, w_hh, b_hn, w_ci, w_cf, w_co, w_hr, mask, rec_mask, zone_h,
                           zone_c, act.size(0), act.size(1));
  const bool lstm = mode == LSTM;
  check(act, act, "act", {d.T, d.B, d.G * d.H});
  check(hs, act, "hs", {d.T + 1, d.B, d.P});
  if (lstm) {
    TORCH_CHECK(cs && aux && aux2, "rnnkit cpu kernel: LSTM backward needs cs, aux, aux2");
    check(*cs, act, "cs", {d.T + 1, d.B, d.H});
    check(*aux2, act, "aux2", {d.T, d.B, d.H});
  }
  if (mode == GRU) TORCH_CHECK(aux.has_value(), "rnnkit cpu kernel: GRU backward needs aux");
  if (aux) check(*aux, act, "aux", {d.T, d.B, d.H});
  if (dout) check(*dout, act, "dout", {d.T, d.B, d.P});
  if (dhN) check(*dhN, act, "dhN", {d.B, d.P});
  if (dcN) check(*dcN, act, "dcN", {d.B, d.H});
  const bool ln = check_ln(mode, act, d, ln_hh, ln_cw, ln_cb);
  if (ln) {
    TORCH_CHECK(xh && rh && (!lstm || (xc && rc)),
                "rnnkit cpu kernel: LN backward needs xh, rh (and xc, rc for the LSTM)");
    check(*xh, act, "xh", {d.T, d.B, d.G * d.H});
    if (mode == GRU) check(*rh, act, "rh", {d.T, d.B, 2});
    else check(*rh, act, "rh", {d.T, d.B});
    if (lstm) {
      check(*xc, act, "xc", {d.T, d.B, d.H});
      check(*rc, act, "rc", {d.T, d.B});
    }
  }
  at::Tensor dxg = alloc({d.T, d.B, d.G * d.H}, act);
  at::Tensor dgh = ((mode == GRU && reset_after) || (ln && mode != GRU))
                       ? alloc({d.T, d.B, d.G * d.H}, act) : at::Tensor();
  at::Tensor dghp = (ln && mode == GRU) ? alloc({d.T, d.B, d.G * d.H}, act) : at::Tensor();
  // LN gain grads: accumulated in double (common.h), returned in the input's dtype
  const auto f64 = act.options().dtype(at::kDouble);
  at::Tensor d_lnhh = ln ? at::zeros({d.G * d.H}, f64) : at::Tensor();
  at::Tensor d_lncw = ln && lstm ? at::zeros({d.H}, f64) : at::Tensor();
  at::Tensor d_lncb = ln && lstm ? at::zeros({d.H}, f64) : at::Tensor();
  at::Tensor dy = (lstm && w_hr) ? alloc({d.T, d.B, d.P}, act) : at::Tensor();
  at::Tensor dh0 = alloc({d.B, d.P}, act);
  at::Tensor dc0 = lstm ? alloc({d.B, d.H}, act) : at::Tensor();
  at::Tensor ws = alloc({workspace_size(d.B, d.H, d.P, d.G)}, act);
  AT_DISPATCH_FLOATING_TYPES(act.scalar_type(), "rnnkit_backward", [&] {
    Seq<scalar_t> s;
    fill_seq<scalar_t>(s, mode, reverse, reset_after, d, w_hh, b_hn, w_ci, w_cf, w_co, w_hr,
                       mask, rec_mask, zone_h, zh, zone_c, zc);
    s.save = true;
    s.hs = hs.data_ptr<scalar_t>();
    s.cs = lstm ? cs->data_ptr<scalar_t>() : nullptr;
    s.act = act.data_ptr<scalar_t>();
    // read only in backward; Seq keeps one pointer type for both passes
    s.aux = const_cast<scalar_t*>(cptr<scalar_t>(aux));
    s.aux2 = const_cast<scalar_t*>(cptr<scalar_t>(aux2));
    s.dout = cptr<scalar_t>(dout);
    s.dhN = cptr<scalar_t>(dhN);
    s.dcN = cptr<scalar_t>(dcN);
    s.dxg = dxg.data_ptr<scalar_t>();
    s.dgh = dgh.defined() ? dgh.data_ptr<scalar_t>() : nullptr;
    s.dy = dy.defined() ? dy.data_ptr<scalar_t>() : nullptr;
    s.dh0 = dh0.data_ptr<scalar_t>();
    s.dc0 = lstm ? dc0.data_ptr<scalar_t>() : nullptr;
    s.ws = ws.data_ptr<scalar_t>();
    fill_ln<scalar_t>(s, ln_hh, ln_cw, ln_cb, eps);
    if (ln) {  // read only in backward
      s.ln_xh = const_cast<scalar_t*>(cptr<scalar_t>(xh));
      s.ln_rh = const_cast<scalar_t*>(cptr<scalar_t>(rh));
      s.ln_xc = const_cast<scalar_t*>(cptr<scalar_t>(xc));
      s.ln_rc = const_cast<scalar_t*>(cptr<scalar_t>(rc));
      s.d_lnhh = d_lnhh.data_ptr<double>();
      if (dghp.defined()) s.dghp = dghp.data_ptr<scalar_t>();
      if (lstm) {
        s.d_lncw = d_lncw.data_ptr<double>();
        s.d_lncb = d_lncb.data_ptr<double>();
      }
    }
    pybind11::gil_scoped_release nogil;
    run_sliced(s, batch_chunks(d, sizeof(scalar_t)), s.ws, [&](Seq<scalar_t>& r) {
      if (lstm) lstm_backward(r);
      else if (mode == GRU) gru_backward(r);
      else rnn_backward(r);
    });
  });
  const auto dt = act.scalar_type();
  const auto back = [dt](const at::Tensor& g) { return g.defined() ? g.to(dt) : g; };
  return {dxg, dgh, dy, dh0, dc0, back(d_lnhh), back(d_lncw), back(d_lncb), dghp};
}

// Streaming steps (inference): x (B, I), h (B, H) [, c (B, H)] -> new h [, new c].
std::vector<at::Tensor> cell_step(int64_t mode, bool reset_after, const at::Tensor& x_,
                                  const at::Tensor& h_, const OptT& c_, const at::Tensor& w_ih,
                                  const at::Tensor& w_hh, const OptT& b_ih, const OptT& b_hh) {
  // A column slice x[:, t] arrives strided: copy here (a no-op when contiguous), which
  // costs less than three .contiguous() calls from Python per step.
  const at::Tensor x = x_.contiguous(), h = h_.contiguous();
  const OptT c = c_ ? OptT(c_->contiguous()) : c_;
  TORCH_CHECK_VALUE(x.dim() == 2 && w_hh.dim() == 2,
                    "rnnkit cpu step: `input` must be (B, I) and `weight_hh` (G*H, H)");
  TORCH_CHECK_TYPE(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble,
                   "rnnkit cpu step: float32 or float64 only, got ", x.scalar_type());
  const int64_t B = x.size(0), I = x.size(1), H = w_hh.size(1);
  const int64_t G = mode == LSTM ? 4 : (mode == GRU ? 3 : 1);
  check(x, x, "input", {B, I});
  check(h, x, "h", {B, H});
  check(w_ih, x, "weight_ih", {G * H, I});
  check(w_hh, x, "weight_hh", {G * H, H});
  if (b_ih) check(*b_ih, x, "bias_ih", {G * H});
  if (b_hh) check(*b_hh, x, "bias_hh", {G * H});
  if (mode == LSTM) {
    TORCH_CHECK(c.has_value(), "rnnkit cpu step: LSTM needs c");
    check(*c, x, "c", {B, H});
  }
  at::Tensor h1 = alloc({B, H}, x);
  at::Tensor c1 = mode == LSTM ? alloc({B, H}, x) : at::Tensor();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "rnnkit_step", [&] {
    using T = scalar_t;
    // Streaming calls this per step: keep its scratch instead of allocating it each time.
    thread_local std::vector<T> scratch;
    scratch.resize(size_t(2 * B * G * H));
    if (g_poison) std::fill(scratch.begin(), scratch.end(), std::numeric_limits<T>::quiet_NaN());
    T* ws = scratch.data();
    const T* bi = cptr<T>(b_ih);
    const T* bh = cptr<T>(b_hh);
    if (mode == LSTM) {
      lstm_cell<T>(B, I, H, x.data_ptr<T>(), h.data_ptr<T>(), c->data_ptr<T>(),
                   w_ih.data_ptr<T>(), w_hh.data_ptr<T>(), bi, bh, ws,
                   h1.data_ptr<T>(), c1.data_ptr<T>());
    } else if (mode == GRU) {
      gru_cell<T>(B, I, H, reset_after, x.data_ptr<T>(), h.data_ptr<T>(), w_ih.data_ptr<T>(),
                  w_hh.data_ptr<T>(), bi, bh, ws, h1.data_ptr<T>());
    } else {
      rnn_cell<T>(B, I, H, mode == RNN_RELU, x.data_ptr<T>(), h.data_ptr<T>(),
                  w_ih.data_ptr<T>(), w_hh.data_ptr<T>(), bi, bh, ws,
                  h1.data_ptr<T>());
    }
  });
  if (mode == LSTM) return {h1, c1};
  return {h1};
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
