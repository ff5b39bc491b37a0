// Arguments by name across the Python boundary (STYLE.md, habit 12): each native entry
// point takes one dict and reads it here, so that no two same-typed tensors (zone_h and
// zone_c, w_ci and w_cf) can trade places unnoticed, as they could in a positional list.
// An unknown key, a missing required one, or a value of the wrong type raises ValueError
// or TypeError in Python, naming the entry point and the key. Only binding.cpp includes
// this header (it needs the torch and pybind11 headers).
#pragma once

#include <torch/extension.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace rnnkit {

class Named {
 public:
  // `keys`: every name `where` reads (a static array of n names). The dict is checked
  // against it once, here: any other key is refused.
  Named(const pybind11::dict& d, const char* where, const char* const* keys, size_t n)
      : where_(where), keys_(keys), n_(n), vals_(n) {
    for (const auto& item : d) {
      TORCH_CHECK_TYPE(pybind11::isinstance<pybind11::str>(item.first), where_,
                       ": argument names must be strings, got ",
                       type_name(item.first));
      const std::string name = item.first.cast<std::string>();
      const size_t i = index(name.c_str());
      TORCH_CHECK_VALUE(i < n_, where_, ": unknown argument `", name, "`; it takes ", listing());
      vals_[i] = item.second;
    }
  }

  // Present and not None.
  bool has(const char* key) const {
    const pybind11::handle v = vals_[known(key)];
    return v && !v.is_none();
  }

  at::Tensor tensor(const char* key) const {
    TORCH_CHECK_VALUE(has(key), where_, ": missing argument `", key, "` (a tensor)");
    return as_tensor(key);
  }

  std::optional<at::Tensor> opt(const char* key) const {
    if (!has(key)) return std::nullopt;
    return as_tensor(key);
  }

  // Required unless a default is given.
  bool flag(const char* key, std::optional<bool> dflt = std::nullopt) const {
    if (!has(key)) return missing(key, dflt, "a bool");
    const pybind11::handle v = vals_[known(key)];
    TORCH_CHECK_TYPE(pybind11::isinstance<pybind11::bool_>(v), where_, ": `", key,
                     "` must be a bool, got ", type_name(v));
    return v.cast<bool>();
  }

  double real(const char* key, std::optional<double> dflt = std::nullopt) const {
    if (!has(key)) return missing(key, dflt, "a float");
    const pybind11::handle v = vals_[known(key)];
    TORCH_CHECK_TYPE(pybind11::isinstance<pybind11::float_>(v) ||
                         (pybind11::isinstance<pybind11::int_>(v) &&
                          !pybind11::isinstance<pybind11::bool_>(v)),
                     where_, ": `", key, "` must be a float, got ", type_name(v));
    return v.cast<double>();
  }

  std::string text(const char* key) const {
    TORCH_CHECK_VALUE(has(key), where_, ": missing argument `", key, "` (a str)");
    const pybind11::handle v = vals_[known(key)];
    TORCH_CHECK_TYPE(pybind11::isinstance<pybind11::str>(v), where_, ": `", key,
                     "` must be a str, got ", type_name(v));
    return v.cast<std::string>();
  }

  // Keys that mean nothing for this call (a cell state for the GRU, a GRU bias for the
  // LSTM): given anyway, they raise, naming the first one and `why`.
  void refuse(std::initializer_list<const char*> keys, const std::string& why) const {
    for (const char* k : keys) {
      // a key this entry point doesn't read at all was refused by the constructor
      TORCH_CHECK_VALUE(index(k) == n_ || !has(k), where_, ": `", k, "` was given, but ", why);
    }
  }

  const char* where() const { return where_; }

 private:
  size_t index(const char* name) const {
    size_t i = 0;
    while (i < n_ && std::strcmp(keys_[i], name) != 0) ++i;
    return i;
  }
  // A name the C++ side reads must be in its own key table: a bug here, not the caller's.
  size_t known(const char* key) const {
    const size_t i = index(key);
    TORCH_CHECK(i < n_, where_, ": internal error, `", key, "` is not in the key table");
    return i;
  }
  template <typename V>
  V missing(const char* key, std::optional<V> dflt, const char* kind) const {
    TORCH_CHECK_VALUE(dflt.has_value(), where_, ": missing argument `", key, "` (", kind, ")");
    return *dflt;
  }
  static std::string type_name(pybind11::handle v) {
    return pybind11::str(pybind11::type::of(v).attr("__name__")).cast<std::string>();
  }
  at::Tensor as_tensor(const char* key) const {
    const pybind11::handle v = vals_[known(key)];
    TORCH_CHECK_TYPE(THPVariable_Check(v.ptr()), where_, ": `", key,
                     "` must be a tensor or None, got ", type_name(v));
    return THPVariable_Unpack(v.ptr());
  }
  std::string listing() const {
    std::string s;
    for (size_t i = 0; i < n_; ++i) s += (i ? ", " : "") + std::string(keys_[i]);
    return s;
  }

  const char* where_;
  const char* const* keys_;
  size_t n_;
  std::vector<pybind11::handle> vals_;  // borrowed from the dict, which outlives this
};

}  // namespace rnnkit
