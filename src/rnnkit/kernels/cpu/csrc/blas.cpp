// GEMM for the time loops. The per-step products are small ((B, P) x (P, G*H)),
// where at::addmm_out's dispatcher overhead (a few µs) costs as much as the
// arithmetic, so we call the Fortran BLAS that libtorch_cpu already carries
// (MKL's sgemm_/dgemm_ on x86 wheels) directly. The symbols are looked up at
// load time; where they are missing, a plain loop GEMM keeps the kernel correct.
#include <dlfcn.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#if defined(_OPENMP)
#include <omp.h>
#endif

#include <cstdlib>
#include <vector>

#include "common.h"

#include <type_traits>

namespace rnnkit {
namespace {

// Inside one of binding.cpp's parallel batch slices (OpenMP builds only).
bool in_parallel() {
#if defined(_OPENMP)
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

// Fortran BLAS, LP64 integers (as ATen's own CPUBlas.cpp declares them).
using sgemm_t = void (*)(const char*, const char*, const int*, const int*, const int*,
                         const float*, const float*, const int*, const float*, const int*,
                         const float*, float*, const int*);
using dgemm_t = void (*)(const char*, const char*, const int*, const int*, const int*,
                         const double*, const double*, const int*, const double*, const int*,
                         const double*, double*, const int*);
// MKL's packed GEMM (CBLAS enums are ints: RowMajor 101, NoTrans 111, Trans 112,
// Packed 151, BMatrix 162; MKL_INT is int in the LP64 interface).
using pack_size_t = size_t (*)(int, int, int, int);
using pack_t = void (*)(int, int, int, int, int, int, float, const float*, int, float*);
using compute_t = void (*)(int, int, int, int, int, int, const float*, int, const float*, int,
                           float, float*, int);
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112, kPacked = 151, kBMatrix = 162;

template <typename T>
void loop_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
               int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      T acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        const T a = ta ? A[k * lda + m] : A[m * lda + k];
        const T b = tb ? B[n * ldb + k] : B[k * ldb + n];
        acc += a * b;
      }
      C[m * ldc + n] = alpha * acc + (beta == T(0) ? T(0) : beta * C[m * ldc + n]);
    }
  }
}

struct Blas {
  sgemm_t s = nullptr;
  dgemm_t d = nullptr;
  pack_size_t pack_size = nullptr;
  pack_t pack = nullptr;
  compute_t compute = nullptr;
  const char* name = "portable loops (no BLAS symbols found)";

  Blas() {
    s = reinterpret_cast<sgemm_t>(dlsym(RTLD_DEFAULT, "sgemm_"));
    d = reinterpret_cast<dgemm_t>(dlsym(RTLD_DEFAULT, "dgemm_"));
    if (s == nullptr || d == nullptr || !self_test()) {
      s = nullptr;
      d = nullptr;
      return;
    }
    name = "Fortran BLAS sgemm_/dgemm_ from the loaded torch libraries";
    pack_size = reinterpret_cast<pack_size_t>(dlsym(RTLD_DEFAULT, "cblas_sgemm_pack_get_size"));
    pack = reinterpret_cast<pack_t>(dlsym(RTLD_DEFAULT, "cblas_sgemm_pack"));
    compute = reinterpret_cast<compute_t>(dlsym(RTLD_DEFAULT, "cblas_sgemm_compute"));
    if (pack_size && pack && compute && packed_self_test()) {
      name = "MKL packed sgemm + Fortran BLAS sgemm_/dgemm_ from the loaded torch libraries";
    } else {
      pack_size = nullptr;
    }
  }

  bool packed_self_test() const {
    const float A[6] = {1, 2, 3, 4, 5, 6}, W[8] = {1, -1, 2, 0.5f, 3, 1, -2, 4};
    float C1[6] = {0}, C2[6] = {0};
    // C (3, 2) = A (3, 2) W^T, W stored (2, ... ) as (N=2, K=2) rows of 4 (ldw 4)
    loop_gemm<float>(false, true, 3, 2, 2, 1.0f, A, 2, W, 4, 0.0f, C1, 2);
    std::vector<float> buf(pack_size(kBMatrix, 3, 2, 2) / sizeof(float) + 16);
    pack(kRowMajor, kBMatrix, kTrans, 3, 2, 2, 1.0f, W, 4, buf.data());
    compute(kRowMajor, kNoTrans, kPacked, 3, 2, 2, A, 2, buf.data(), 2, 0.0f, C2, 2);
    for (int i = 0; i < 6; ++i) {
      if (std::fabs(C1[i] - C2[i]) > 1e-5f) return false;
    }
    return true;
  }

  // A 3x2 * 2x4 product against the loop GEMM: guards against an ABI mismatch.
  bool self_test() {
    const double A[6] = {1, 2, 3, 4, 5, 6}, Bm[8] = {1, -1, 2, 0.5, 3, 1, -2, 4};
    double C1[12] = {0}, C2[12] = {0};
    float Af[6], Bf[8], C3[12] = {0};
    for (int i = 0; i < 6; ++i) Af[i] = static_cast<float>(A[i]);
    for (int i = 0; i < 8; ++i) Bf[i] = static_cast<float>(Bm[i]);
    loop_gemm<double>(false, false, 3, 4, 2, 1.0, A, 2, Bm, 4, 0.0, C1, 4);
    call(false, false, 3, 4, 2, 1.0, A, 2, Bm, 4, 0.0, C2, 4);
    call(false, false, 3, 4, 2, 1.0f, Af, 2, Bf, 4, 0.0f, C3, 4);
    for (int i = 0; i < 12; ++i) {
      if (std::fabs(C1[i] - C2[i]) > 1e-12 || std::fabs(C1[i] - C3[i]) > 1e-5) return false;
    }
    return true;
  }

  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
  void call(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
            int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) const {
    const char tA = tb ? 'T' : 'N', tB = ta ? 'T' : 'N';
    const int m = int(N), n = int(M), k = int(K), la = int(ldb), lb = int(lda), lc = int(ldc);
    s(&tA, &tB, &m, &n, &k, &alpha, B, &la, A, &lb, &beta, C, &lc);
  }
  void call(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
            int64_t lda, const double* B, int64_t ldb, double beta, double* C,
            int64_t ldc) const {
    const char tA = tb ? 'T' : 'N', tB = ta ? 'T' : 'N';
    const int m = int(N), n = int(M), k = int(K), la = int(ldb), lb = int(lda), lc = int(ldc);
    d(&tA, &tB, &m, &n, &k, &alpha, B, &la, A, &lb, &beta, C, &lc);
  }
};

const Blas& blas() {
  static const Blas b;
  return b;
}

}  // namespace

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  const Blas& b = blas();
  if (b.s != nullptr && K > 0) b.call(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else loop_gemm<float>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
          int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  const Blas& b = blas();
  if (b.d != nullptr && K > 0) b.call(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else loop_gemm<double>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// ---- products of one or two rows with a weight, for the streaming steps ------------
// MKL's sgemv runs a (1, 128) x (128, 512) product here at ~27 bytes of weight per
// cycle; the weights come from L2, which streams ~2x that. Eight weight rows at a time
// against one input row, eight independent FMA chains, each row summed at the end.
namespace {

#if defined(__AVX512F__)
void rows_dot(int64_t N, int64_t K, const float* __restrict__ W, int64_t ldw,
              const float* __restrict__ a, float* __restrict__ c) {
  const int64_t K16 = K & ~int64_t(15);
  const __mmask16 tail = static_cast<__mmask16>((1u << (K - K16)) - 1u);
  int64_t n = 0;
  for (; n + 8 <= N; n += 8) {
    const float* w = W + n * ldw;
    __m512 acc[8];
    for (int r = 0; r < 8; ++r) acc[r] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K16; k += 16) {
      const __m512 av = _mm512_loadu_ps(a + k);
      for (int r = 0; r < 8; ++r) acc[r] = _mm512_fmadd_ps(_mm512_loadu_ps(w + r * ldw + k), av, acc[r]);
    }
    if (tail) {
      const __m512 av = _mm512_maskz_loadu_ps(tail, a + K16);
      for (int r = 0; r < 8; ++r) {
        acc[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w + r * ldw + K16), av, acc[r]);
      }
    }
    for (int r = 0; r < 8; ++r) c[n + r] = _mm512_reduce_add_ps(acc[r]);
  }
  for (; n < N; ++n) {
    const float* w = W + n * ldw;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t k = 0; k < K16; k += 16) {
      acc = _mm512_fmadd_ps(_mm512_loadu_ps(w + k), _mm512_loadu_ps(a + k), acc);
    }
    if (tail) {
      acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w + K16), _mm512_maskz_loadu_ps(tail, a + K16), acc);
    }
    c[n] = _mm512_reduce_add_ps(acc);
  }
}

// c (N) = beta c + a (K) W (K, N), W row-major with leading dimension ldw: 128 columns
// (eight vectors) at a time held in registers over all K rows of W, the last block masked.
void rows_times(int64_t N, int64_t K, const float* __restrict__ W, int64_t ldw,
                const float* __restrict__ a, float beta, float* __restrict__ c) {
  for (int64_t p0 = 0; p0 < N; p0 += 128) {
    const int64_t nb = std::min<int64_t>(128, N - p0);
    const int nv = int((nb + 15) / 16);
    __mmask16 mask[8];
    for (int v = 0; v < 8; ++v) {
      const int64_t left = nb - 16 * v;
      mask[v] = left >= 16 ? __mmask16(0xFFFF)
                           : (left > 0 ? static_cast<__mmask16>((1u << left) - 1u) : __mmask16(0));
    }
    __m512 acc[8];
    for (int v = 0; v < 8; ++v) {
      acc[v] = beta == 0.0f ? _mm512_setzero_ps()
                            : _mm512_mul_ps(_mm512_set1_ps(beta),
                                            _mm512_maskz_loadu_ps(mask[v], c + p0 + 16 * v));
    }
    if (nb == 128) {  // a full block: no masks (113-127 columns would read past it)
      for (int64_t k = 0; k < K; ++k) {
        const __m512 ak = _mm512_set1_ps(a[k]);
        const float* w = W + k * ldw + p0;
        for (int v = 0; v < 8; ++v) acc[v] = _mm512_fmadd_ps(ak, _mm512_loadu_ps(w + 16 * v), acc[v]);
      }
    } else {
      for (int64_t k = 0; k < K; ++k) {
        const __m512 ak = _mm512_set1_ps(a[k]);
        const float* w = W + k * ldw + p0;
        for (int v = 0; v < nv; ++v) {
          acc[v] = _mm512_fmadd_ps(ak, _mm512_maskz_loadu_ps(mask[v], w + 16 * v), acc[v]);
        }
      }
    }
    for (int v = 0; v < nv; ++v) _mm512_mask_storeu_ps(c + p0 + 16 * v, mask[v], acc[v]);
  }
}
#endif

}  // namespace

void gemm_rows_nt(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* W,
                  int64_t ldw, float* C, int64_t ldc) {
#if defined(__AVX512F__)
  if (M <= 2 && K > 0) {
    for (int64_t m = 0; m < M; ++m) rows_dot(N, K, W, ldw, A + m * lda, C + m * ldc);
    return;
  }
#endif
  gemm(false, true, M, N, K, 1.0f, A, lda, W, ldw, 0.0f, C, ldc);
}

void gemm_rows_nt(int64_t M, int64_t N, int64_t K, const double* A, int64_t lda,
                  const double* W, int64_t ldw, double* C, int64_t ldc) {
  gemm(false, true, M, N, K, 1.0, A, lda, W, ldw, 0.0, C, ldc);
}

const char* blas_name() { return blas().name; }

template <typename T>
WeightGemm<T>::WeightGemm(bool tw, int64_t M, int64_t N, int64_t K, const T* W, int64_t ldw,
                          bool pack)
    : tw_(tw), M_(M), N_(N), K_(K), ldw_(ldw), W_(W) {
  const Blas& b = blas();
  if (!std::is_same<T, float>::value || !pack || b.pack_size == nullptr || M == 0 || N == 0 ||
      K == 0) {
    return;
  }
  const size_t bytes = b.pack_size(kBMatrix, int(M), int(N), int(K));
  packed_ = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (packed_ == nullptr) return;
  b.pack(kRowMajor, kBMatrix, tw ? kTrans : kNoTrans, int(M), int(N), int(K), 1.0f,
         reinterpret_cast<const float*>(W), int(ldw), static_cast<float*>(packed_));
}

template <typename T>
WeightGemm<T>::~WeightGemm() {
  std::free(packed_);
}

template <typename T>
void WeightGemm<T>::operator()(const T* A, int64_t lda, T beta, T* C, int64_t ldc) const {
#if defined(__AVX512F__)
  // One or two rows against a weight that stays in this core's L2: AVX-512 products
  // (above) instead of MKL's call, ~1 µs a step less here. Outside a batch slice MKL may
  // split the product over both cores, which measured faster at 1 MiB of weight (so the
  // loops stop at 512 KiB there); inside one (binding.cpp) MKL runs on this core alone,
  // and the loops win up to 1 MiB. A bigger weight streams from L3 each step, where
  // MKL's threads are faster.
  const int64_t w_bytes = N_ * K_ * int64_t(sizeof(float));
  const int64_t fits = in_parallel() ? (int64_t(1) << 20) : (int64_t(1) << 19);
  if (std::is_same<T, float>::value && M_ <= 2 && K_ > 0 && N_ > 0 && w_bytes <= fits) {
    const float* a = reinterpret_cast<const float*>(A);
    const float* w = reinterpret_cast<const float*>(W_);
    float* c = reinterpret_cast<float*>(C);
    if (tw_ && beta == T(0)) {
      gemm_rows_nt(M_, N_, K_, a, lda, w, ldw_, c, ldc);
      return;
    }
    if (!tw_) {
      for (int64_t m = 0; m < M_; ++m) rows_times(N_, K_, w, ldw_, a + m * lda, float(beta), c + m * ldc);
      return;
    }
  }
#endif
  if (packed_ != nullptr) {
    blas().compute(kRowMajor, kNoTrans, kPacked, int(M_), int(N_), int(K_),
                   reinterpret_cast<const float*>(A), int(lda),
                   static_cast<const float*>(packed_), int(N_), float(beta),
                   reinterpret_cast<float*>(C), int(ldc));
    return;
  }
  gemm(false, tw_, M_, N_, K_, T(1), A, lda, W_, ldw_, beta, C, ldc);
}

template class WeightGemm<float>;
template class WeightGemm<double>;

}  // namespace rnnkit
