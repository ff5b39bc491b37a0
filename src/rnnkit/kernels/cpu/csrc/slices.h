// Batch slices on torch's intra-op threads: a (layer, direction) run as independent
// slices of its batch (binding.cpp's forward and backward). Only binding.cpp includes this
// header (it needs ATen's parallel_for).
#pragma once

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>
#include <vector>

#include "args.h"
#include "common.h"

namespace rnnkit {
namespace {

// Test aid: run every sequence as this many batch slices (0: decide by size and threads).
int64_t g_slices = 0;

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

}  // namespace
}  // namespace rnnkit
