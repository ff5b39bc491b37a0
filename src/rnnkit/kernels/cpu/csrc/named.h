// Arguments by name across the Python boundary (STYLE.md, habit 12): each native entry
// point takes one dict and reads it here, so that no two same-typed tensors (zone_h and
// zone_c, w_ci and w_cf) can trade places unnoticed, as they could in a positional list.
// An unknown key, a missing required one, or a value of the wrong type raises ValueError
// or TypeError in Python, naming the entry point and the key. Only binding.cpp includes
// this header (it needs the torch and pybind11 headers).
#pragma once

#include <torch/extension.h>

#include <array>
#include <cstring>
#include <optional>
#include <string>

namespace rnnkit {

class Named {
 public:
  static constexpr size_t kMaxKeys = 40;

  // `keys`: every name `where` reads (a static array of n <= kMaxKeys names). The dict is
  // checked against it once, here: any other key is refused.
  Named(const pybind11::dict& d, const char* where, const char* const* keys, size_t n)
      : where_(where), keys_(keys), n_(n) {
    TORCH_CHECK(n <= kMaxKeys, where_, ": internal error, too many keys");
    // The raw dict walk: streaming calls this once per step, where pybind11's iterator
    // and a std::string per key cost a measurable part of a microsecond.
    PyObject* k = nullptr;
    PyObject* v = nullptr;
    Py_ssize_t pos = 0;
    while (PyDict_Next(d.ptr(), &pos, &k, &v)) {
      TORCH_CHECK_TYPE(PyUnicode_Check(k), where_, ": argument names must be strings, got ",
                       type_name(k));
      const char* name = PyUnicode_AsUTF8(k);
      TORCH_CHECK_VALUE(name != nullptr, where_, ": an argument name is not valid UTF-8");
      const size_t i = index(name);
      TORCH_CHECK_VALUE(i < n_, where_, ": unknown argument `", name, "`; it takes ", listing());
      vals_[i] = v;
    }
  }

  // Present and not None.
  bool has(const char* key) const { return get(key) != nullptr; }

  at::Tensor tensor(const char* key) const {
    PyObject* v = get(key);
    TORCH_CHECK_VALUE(v != nullptr, where_, ": missing argument `", key, "` (a tensor)");
    return as_tensor(key, v);
  }

  std::optional<at::Tensor> opt(const char* key) const {
    PyObject* v = get(key);
    if (v == nullptr) return std::nullopt;
    return as_tensor(key, v);
  }

  // Required unless a default is given.
  bool flag(const char* key, std::optional<bool> dflt = std::nullopt) const {
    PyObject* v = get(key);
    if (v == nullptr) return missing(key, dflt, "a bool");
    TORCH_CHECK_TYPE(PyBool_Check(v), where_, ": `", key, "` must be a bool, got ",
                     type_name(v));
    return v == Py_True;
  }

  double real(const char* key, std::optional<double> dflt = std::nullopt) const {
    PyObject* v = get(key);
    if (v == nullptr) return missing(key, dflt, "a float");
    TORCH_CHECK_TYPE(PyFloat_Check(v) || (PyLong_Check(v) && !PyBool_Check(v)), where_, ": `",
                     key, "` must be a float, got ", type_name(v));
    return pybind11::handle(v).cast<double>();
  }

  std::string text(const char* key) const {
    PyObject* v = get(key);
    TORCH_CHECK_VALUE(v != nullptr, where_, ": missing argument `", key, "` (a str)");
    TORCH_CHECK_TYPE(PyUnicode_Check(v), where_, ": `", key, "` must be a str, got ",
                     type_name(v));
    return PyUnicode_AsUTF8(v);
  }

  // Keys that mean nothing for this call (a cell state for the GRU, a GRU bias for the
  // LSTM): given anyway, they raise, naming the first one and why (the message is built
  // only then).
  template <typename... Why>
  void refuse(std::initializer_list<const char*> keys, const Why&... why) const {
    for (const char* k : keys) {
      // a key this entry point doesn't read at all was refused by the constructor
      TORCH_CHECK_VALUE(index(k) == n_ || !has(k), where_, ": `", k, "` was given, but ", why...);
    }
  }

  const char* where() const { return where_; }

 private:
  // Literals of the same text share one address within binding.cpp's translation unit
  // (GCC merges them), so the pointer test usually settles it before strcmp.
  size_t index(const char* name) const {
    for (size_t i = 0; i < n_; ++i) {
      if (keys_[i] == name || std::strcmp(keys_[i], name) == 0) return i;
    }
    return n_;
  }
  // The value of a key, or null when absent or None. A name the C++ side reads must be in
  // its own key table: a bug here, not the caller's.
  PyObject* get(const char* key) const {
    const size_t i = index(key);
    TORCH_CHECK(i < n_, where_, ": internal error, `", key, "` is not in the key table");
    PyObject* v = vals_[i];
    return v == nullptr || v == Py_None ? nullptr : v;
  }
  template <typename V>
  V missing(const char* key, std::optional<V> dflt, const char* kind) const {
    TORCH_CHECK_VALUE(dflt.has_value(), where_, ": missing argument `", key, "` (", kind, ")");
    return *dflt;
  }
  static std::string type_name(PyObject* v) { return Py_TYPE(v)->tp_name; }
  at::Tensor as_tensor(const char* key, PyObject* v) const {
    TORCH_CHECK_TYPE(THPVariable_Check(v), where_, ": `", key,
                     "` must be a tensor or None, got ", type_name(v));
    return THPVariable_Unpack(v);
  }
  std::string listing() const {
    std::string s;
    for (size_t i = 0; i < n_; ++i) s += (i ? ", " : "") + std::string(keys_[i]);
    return s;
  }

  const char* where_;
  const char* const* keys_;
  size_t n_;
  std::array<PyObject*, kMaxKeys> vals_{};  // borrowed from the dict, which outlives this
};

}  // namespace rnnkit
