// Argument checking and error construction shared by every exported function.
#include "common.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

wn_instance *wn_instance_get(napi_env env) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok) return NULL;
  return data;
}

bool wn_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  // Missing arguments arrive as undefined and are then rejected by the type checks.
  return napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok;
}

static napi_value throw_fmt(napi_env env, bool range, const char *fmt, va_list ap) {
  char msg[256];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (range) napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  else napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

napi_value wn_throw_type(napi_env env, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  throw_fmt(env, false, fmt, ap);
  va_end(ap);
  return NULL;
}

napi_value wn_throw_range(napi_env env, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  throw_fmt(env, true, fmt, ap);
  va_end(ap);
  return NULL;
}

static napi_value errno_error_v(napi_env env, int err, const char *fmt, va_list ap) {
  char op[160], text[128], msg[320];
  vsnprintf(op, sizeof op, fmt, ap);
  // The GNU strerror_r returns a pointer that may or may not be `text`.
  const char *desc = strerror_r(err, text, sizeof text);
  snprintf(msg, sizeof msg, "%s: %s", op, desc);
  const char *name = strerrorname_np(err);
  char unknown[24];
  if (name == NULL) {
    snprintf(unknown, sizeof unknown, "E%d", err);
    name = unknown;
  }
  napi_value code, message, error, num;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message) != napi_ok ||
      napi_create_error(env, code, message, &error) != napi_ok ||
      napi_create_int32(env, err, &num) != napi_ok)
    return NULL;
  napi_set_named_property(env, error, "errno", num);
  return error;
}

napi_value wn_errno_error(napi_env env, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  napi_value e = errno_error_v(env, err, fmt, ap);
  va_end(ap);
  return e;
}

napi_value wn_throw_errno(napi_env env, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  napi_value e = errno_error_v(env, err, fmt, ap);
  va_end(ap);
  if (e != NULL) napi_throw(env, e);
  return NULL;
}

bool wn_arg_int(napi_env env, napi_value v, const char *what, double min, double max, double *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
    wn_throw_type(env, "%s must be a number", what);
    return false;
  }
  double d;
  napi_get_value_double(env, v, &d);
  if (!isfinite(d) || d != floor(d) || d < min || d > max) {
    wn_throw_range(env, "%s must be an integer in [%.0f, %.0f], got %g", what, min, max, d);
    return false;
  }
  *out = d;
  return true;
}

bool wn_arg_u32(napi_env env, napi_value v, const char *what, uint32_t min, uint32_t max,
                uint32_t *out) {
  double d;
  if (!wn_arg_int(env, v, what, min, max, &d)) return false;
  *out = (uint32_t)d;
  return true;
}

bool wn_arg_fd(napi_env env, napi_value v, const char *fn, int *out) {
  char what[64];
  snprintf(what, sizeof what, "%s: fd", fn);
  double d;
  if (!wn_arg_int(env, v, what, 0, 2147483647.0, &d)) return false;
  *out = (int)d;
  return true;
}

bool wn_arg_array(napi_env env, napi_value v, const char *what, napi_typedarray_type type,
                  void **data, size_t *count) {
  static const char *names[] = {"Int8Array",    "Uint8Array",   "Uint8ClampedArray",
                                "Int16Array",   "Uint16Array",  "Int32Array",
                                "Uint32Array",  "Float32Array", "Float64Array"};
  bool is = false;
  napi_typedarray_type got;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &got, count, data, NULL, NULL) != napi_ok || got != type) {
    const char *name = (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "typed array";
    wn_throw_type(env, "%s must be a %s", what, name);
    return false;
  }
  // A zero-length view may report a NULL data pointer; callers index it only below *count.
  return true;
}

bool wn_arg_bytes(napi_env env, napi_value v, const char *what, uint8_t **data, size_t *len) {
  // Buffers are Uint8Arrays, so one check accepts both.
  return wn_arg_array(env, v, what, napi_uint8_array, (void **)data, len);
}

bool wn_arg_string(napi_env env, napi_value v, const char *what, char *buf, size_t cap,
                   size_t *len) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    wn_throw_type(env, "%s must be a string", what);
    return false;
  }
  size_t need;
  napi_get_value_string_utf8(env, v, NULL, 0, &need);
  if (need + 1 > cap) {
    wn_throw_range(env, "%s is too long (%zu bytes, at most %zu)", what, need, cap - 1);
    return false;
  }
  napi_get_value_string_utf8(env, v, buf, cap, len);
  return true;
}

bool wn_arg_function(napi_env env, napi_value v, const char *what, bool optional, bool *present) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  *present = t == napi_function;
  if (*present || (optional && (t == napi_undefined || t == napi_null))) return true;
  wn_throw_type(env, "%s must be a function", what);
  return false;
}

bool wn_check_span(napi_env env, const char *what, uint32_t i, uint64_t off, uint64_t len,
                   size_t total) {
  if (off + len <= total) return true;
  wn_throw_range(env, "%s: packet %u [%llu, +%llu) lies outside the buffer (%zu bytes)", what, i,
                 (unsigned long long)off, (unsigned long long)len, total);
  return false;
}

napi_value wn_number(napi_env env, double v) {
  napi_value r = NULL;
  napi_create_double(env, v, &r);
  return r;
}

napi_value wn_bool(napi_env env, bool v) {
  napi_value r = NULL;
  napi_get_boolean(env, v, &r);
  return r;
}

bool wn_set(napi_env env, napi_value obj, const char *key, napi_value v) {
  return v != NULL && napi_set_named_property(env, obj, key, v) == napi_ok;
}

void wn_rethrow(napi_env env) {
  bool pending = false;
  napi_value ex;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
      napi_get_and_clear_last_exception(env, &ex) == napi_ok)
    napi_fatal_exception(env, ex);
}
