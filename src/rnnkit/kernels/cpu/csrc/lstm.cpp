// LSTM time loop and its hand-written BPTT, one instance per (peephole, layer norm) pair;
// the gate math is cells.h's lstm_gates / lstm_gates_back. Equations (rnnkit.cells.lstm),
// gates i, f, g, o:
//   a = xg_t + W_hh h_rec                      (xg_t = W_ih x_t + b_ih + b_hh, hoisted)
//   i = σ(a_i + w_ci ⊙ c_prev), f = σ(a_f + w_cf ⊙ c_prev), g = tanh(a_g)
//   c = f ⊙ c_prev + i ⊙ g,  o = σ(a_o + w_co ⊙ c),  h = o ⊙ tanh(c)  [then h = W_hr h]
// followed by zoneout and the mask (common.h: settle / unsettle).
// With layer normalisation (rnnkit.cells.lstm, Ba et al. 2016) xg already holds
// LN(W_ih x_t) ⊙ γ_ih + b_ih + b_hh (hoisted, kernel.py), and here
//   a = xg_t + LN(W_hh h_rec) ⊙ γ_hh,   h = o ⊙ tanh(LN(c) ⊙ γ_c + β_c)   (c carried as is).
#include "cells.h"
#include "common.h"

namespace rnnkit {

template <typename T, bool PEEP, bool LN>
void lstm_forward_t(Seq<T>& s) {
  const int64_t B = s.B, H = s.H, P = s.P, G = 4 * H, Tn = s.T_;
  const int64_t BS = s.bs;  // rows per time step in the (T, B, ·) arrays
  const int64_t rev = s.reverse ? 1 : 0;
  T* gh = s.ws;                  // (B, 4H) W_hh h_rec
  T* hrec = gh + B * G;          // (B, P)
  T* a_ws = hrec + B * P;        // (B, 4H) activations when not saving
  T* c_ws = a_ws + B * G;        // (B, H) c before zoneout when not saving
  T* hcell = c_ws + B * H;       // (B, H) o ⊙ tanh(c)
  T* y = hcell + B * H;          // (B, P) projected h
  T* tc_ws = y + B * P;          // (B, H)
  T* xc_ws = tc_ws + B * H;      // (B, H) LN(c) when not saving
  // local copies: loads through `s` inside the gate loops could alias the stores,
  // which keeps GCC from vectorising them
  const T* __restrict__ wci = s.w_ci;
  const T* __restrict__ wcf = s.w_cf;
  const T* __restrict__ wco = s.w_co;
  const T* __restrict__ lncw = s.ln_cw;
  const T* __restrict__ lncb = s.ln_cb;
  const WeightGemm<T> Wh(true, B, G, P, s.w_hh, P, s.pack());             // h_rec W_hh^T
  const WeightGemm<T> Wr(true, B, P, H, s.w_hr, H, s.pack() && s.w_hr);  // h W_hr^T
  for (int64_t step = 0; step < Tn; ++step) {
    const int64_t t = s.reverse ? Tn - 1 - step : step;
    const T* hp = s.hs + s.slot(t + rev) * BS * P;
    const T* cp = s.cs + s.slot(t + rev) * BS * H;
    T* hn = s.hs + s.slot(t + 1 - rev) * BS * P;
    T* cn = s.cs + s.slot(t + 1 - rev) * BS * H;
    const T* hr = recurrent_input(s, hp, hrec);
    Wh(hr, P, T(0), gh, G);
    T* A = s.save ? s.act + t * BS * G : a_ws;
    T* C = s.save ? s.aux + t * BS * H : c_ws;
    T* TC = s.save ? s.aux2 + t * BS * H : tc_ws;
    for (int64_t b = 0; b < B; ++b) {
      const T* __restrict__ x = s.xg + (t * BS + b) * G;
      const T* __restrict__ r = gh + b * G;
      const T* __restrict__ c0 = cp + b * H;
      T* __restrict__ a = A + b * G;
      T* __restrict__ c1 = C + b * H;
      T* __restrict__ tc1 = TC + b * H;
      T* __restrict__ h1 = hcell + b * H;
      const T* rec = r;
      if constexpr (LN) {  // normalised W_hh h_rec, in place when there is nothing to save
        T* xh = s.save ? s.ln_xh + (t * BS + b) * G : gh + b * G;
        const T rh = ln_row(r, G, s.eps, xh);
        if (s.save) s.ln_rh[t * BS + b] = rh;
        rec = xh;
      }
      lstm_gates<T, PEEP, LN>(H, x, rec, s.ln_hh, c0, wci, wcf, wco, a, c1, tc1, h1);
      if constexpr (LN) {
        T* __restrict__ xc = s.save ? s.ln_xc + (t * BS + b) * H : xc_ws + b * H;
        const T rc = ln_row(c1, H, s.eps, xc);
        if (s.save) s.ln_rc[t * BS + b] = rc;
        lstm_ln_output(H, xc, lncw, lncb, a, tc1, h1);
      }
    }
    const T* hfinal = hcell;
    if (s.w_hr != nullptr) {  // torch.nn.LSTM's proj_size: h = W_hr (o ⊙ tanh c)
      Wr(hcell, H, T(0), y, P);
      hfinal = y;
    }
    settle(s, t, H, cp, C, s.zone_c, s.zc, s.zoned_c(), cn, static_cast<T*>(nullptr));
    settle(s, t, P, hp, hfinal, s.zone_h, s.zh, s.zoned_h(), hn, s.out + t * BS * P);
  }
}

template <typename T, bool PEEP, bool LN>
void lstm_backward_t(Seq<T>& s) {
  const int64_t B = s.B, H = s.H, P = s.P, G = 4 * H, Tn = s.T_;
  const int64_t BS = s.bs;  // rows per time step in the (T, B, ·) arrays
  const int64_t rev = s.reverse ? 1 : 0;
  T* dH = s.ws;                  // (B, P) grad of the state after the step
  T* dHp = dH + B * P;           // (B, P) grad of the state before it
  T* dC = dHp + B * P;           // (B, H)
  T* dCp = dC + B * H;           // (B, H)
  T* dcell_h = dCp + B * H;      // (B, P)
  T* dcell_c = dcell_h + B * P;  // (B, H)
  T* dhpre = dcell_c + B * H;    // (B, H) grad of o ⊙ tanh c
  T* tmp = dhpre + B * H;        // (B, P)
  T* dcl = tmp + B * P;          // (B, H) the grad reaching c from h
  T* dcn_ws = dcl + B * H;       // (B, H) LN: grad of LN(c) ⊙ γ_c + β_c
  // local copies: loads through `s` inside the gate loops could alias the stores,
  // which keeps GCC from vectorising them
  const T* __restrict__ wci = s.w_ci;
  const T* __restrict__ wcf = s.w_cf;
  const T* __restrict__ wco = s.w_co;
  const WeightGemm<T> Wh(false, B, P, G, s.w_hh, P, s.pack());             // dA W_hh
  const WeightGemm<T> Wr(false, B, H, P, s.w_hr, H, s.pack() && s.w_hr);  // dy W_hr
  #pragma GCC ivdep
  for (int64_t i = 0; i < B * P; ++i) dH[i] = s.dhN ? s.dhN[i] : T(0);
  #pragma GCC ivdep
  for (int64_t i = 0; i < B * H; ++i) dC[i] = s.dcN ? s.dcN[i] : T(0);
  for (int64_t step = 0; step < Tn; ++step) {
    const int64_t t = s.reverse ? step : Tn - 1 - step;
    const T* cp = s.cs + (t + rev) * BS * H;
    if (s.dout != nullptr) {  // masked steps output a constant 0: no grad flows from them
      for (int64_t b = 0; b < B; ++b) {
        if (!s.valid(t, b)) continue;
        const T* __restrict__ d = s.dout + (t * BS + b) * P;
        T* __restrict__ h = dH + b * P;
        #pragma GCC ivdep
        for (int64_t j = 0; j < P; ++j) h[j] += d[j];
      }
    }
    unsettle(s, t, P, dH, s.zone_h, s.zh, s.zoned_h(), dHp, dcell_h);
    unsettle(s, t, H, dC, s.zone_c, s.zc, s.zoned_c(), dCp, dcell_c);
    const T* dh = dcell_h;
    if (s.w_hr != nullptr) {
      std::memcpy(s.dy + t * BS * P, dcell_h, sizeof(T) * B * P);
      Wr(dcell_h, P, T(0), dhpre, H);
      dh = dhpre;
    }
    const T* A = s.act + t * BS * G;
    const T* TC = s.aux2 + t * BS * H;
    T* dA = s.dxg + t * BS * G;
    for (int64_t b = 0; b < B; ++b) {
      T* __restrict__ da = dA + b * G;
      const int64_t tb = t * BS + b;
      if (!s.valid(t, b)) {
        std::memset(da, 0, sizeof(T) * G);
        if constexpr (LN) std::memset(s.dgh + tb * G, 0, sizeof(T) * G);
        continue;
      }
      const T* __restrict__ a = A + b * G;
      const T* __restrict__ tc = TC + b * H;
      const T* __restrict__ c0 = cp + b * H;
      const T* __restrict__ dhb = dh + b * H;
      const T* __restrict__ dcb = dcell_c + b * H;
      T* __restrict__ dcp = dCp + b * H;
      T* __restrict__ dcl_b = dcl + b * H;  // the grad reaching c from h
      if constexpr (LN) {  // dcn = grad of LN(c) ⊙ γ_c + β_c, taken back through the LN
        T* __restrict__ dcn = dcn_ws + b * H;
        const T* __restrict__ xc = s.ln_xc + tb * H;
        double* __restrict__ gcw = s.d_lncw;
        double* __restrict__ gcb = s.d_lncb;
        #pragma GCC ivdep
        for (int64_t j = 0; j < H; ++j) {
          const T o = a[3 * H + j], tcv = tc[j];
          dcn[j] = dhb[j] * o * (T(1) - tcv * tcv);
          gcw[j] += double(dcn[j] * xc[j]);
          gcb[j] += double(dcn[j]);
        }
        ln_row_backward(dcn, s.ln_cw, xc, s.ln_rc[tb], H, dcl_b);
      } else {
        #pragma GCC ivdep
        for (int64_t j = 0; j < H; ++j) {
          const T o = a[3 * H + j], tcv = tc[j];
          dcl_b[j] = dhb[j] * o * (T(1) - tcv * tcv);
        }
      }
      lstm_gates_back<T, PEEP>(H, a, tc, c0, dhb, dcb, dcl_b, wci, wcf, wco, da, dcp);
      // LN: the recurrent part of a is LN(W_hh h_rec) ⊙ γ_hh; dgh = grad of W_hh h_rec
      if constexpr (LN) {
        const T* __restrict__ xh = s.ln_xh + tb * G;
        double* __restrict__ ghh = s.d_lnhh;
        #pragma GCC ivdep
        for (int64_t j = 0; j < G; ++j) ghh[j] += double(da[j] * xh[j]);
        ln_row_backward(da, s.ln_hh, xh, s.ln_rh[tb], G, s.dgh + tb * G);
      }
    }
    back_through_whh(s, LN ? s.dgh + t * BS * G : dA, G, Wh, dHp, tmp);
    std::swap(dH, dHp);
    std::swap(dC, dCp);
  }
  std::memcpy(s.dh0, dH, sizeof(T) * B * P);
  std::memcpy(s.dc0, dC, sizeof(T) * B * H);
}

template <typename T>
void lstm_forward(Seq<T>& s) {
  with_flags(s.w_ci != nullptr, s.ln_hh != nullptr, [&](auto peep, auto ln) {
    lstm_forward_t<T, decltype(peep)::value, decltype(ln)::value>(s);
  });
}

template <typename T>
void lstm_backward(Seq<T>& s) {
  with_flags(s.w_ci != nullptr, s.ln_hh != nullptr, [&](auto peep, auto ln) {
    lstm_backward_t<T, decltype(peep)::value, decltype(ln)::value>(s);
  });
}

template void lstm_forward<float>(Seq<float>&);
template void lstm_forward<double>(Seq<double>&);
template void lstm_backward<float>(Seq<float>&);
template void lstm_backward<double>(Seq<double>&);

}  // namespace rnnkit
