/*
 * hookbus guest SDK for C: implements ABI v1 (docs/abi-v1.md) so a plugin only writes handlers.
 *
 *   #include "hookbus.h"
 *
 *   static hb_result shout(const hb_json *value, const hb_json *args) {
 *     if (value->kind != HB_STRING) return hb_error("the_content must be a string", "E_TYPE");
 *     hb_buf out = hb_buf_new();
 *     for (size_t i = 0; i < value->text.len; i++) {
 *       char c = value->text.ptr[i];
 *       hb_buf_byte(&out, c >= 'a' && c <= 'z' ? c - 32 : c);
 *     }
 *     return hb_value(hb_string(out.ptr, out.len));
 *   }
 *
 *   HB_HOOKS(HB_FILTER("the_content", shout))
 *
 * Build (freestanding: no libc is needed or linked):
 *
 *   clang --target=wasm32 -O2 -nostdlib -ffreestanding -mbulk-memory -I sdk/c \
 *     -Wl,--no-entry -Wl,--stack-first -o plugin.wasm sdk/c/hookbus.c plugin.c
 *
 * Memory: every value, string and buffer a handler makes lives in a per-call arena that the SDK releases when
 * the call returns, so a handler never frees anything and the guest's memory stays flat across calls. The
 * arena's chunks and the host's blocks come from a size-class allocator (bump, then free lists) that really
 * frees: a block given back is reused by the next request of its class.
 */
#ifndef HOOKBUS_H
#define HOOKBUS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- strings ------------------------------------------------------------------------------------------------ */

/** A UTF-8 byte string (not NUL-terminated). */
typedef struct {
  const char *ptr;
  size_t len;
} hb_str;

/** An `hb_str` for a C string literal or NUL-terminated string. */
hb_str hb_cstr(const char *s);
/** Whether `a` holds exactly the bytes of the C string `b`. */
int hb_str_eq(hb_str a, const char *b);

/* --- JSON values -------------------------------------------------------------------------------------------- */

typedef enum { HB_NULL = 0, HB_BOOL, HB_NUMBER, HB_STRING, HB_ARRAY, HB_OBJECT } hb_kind;

/** A JSON value. Objects keep their keys in order; a later duplicate key replaces the earlier value. */
typedef struct hb_json {
  hb_kind kind;
  int boolean;          /* HB_BOOL */
  double number;        /* HB_NUMBER: the value (exact for integers up to 2^53) */
  hb_str text;          /* HB_STRING: the decoded UTF-8; HB_NUMBER: its JSON text, written back unchanged */
  size_t count;         /* HB_ARRAY, HB_OBJECT: how many items */
  struct hb_json **items; /* HB_ARRAY: the items; HB_OBJECT: the values */
  hb_str *keys;         /* HB_OBJECT: the keys */
  size_t capacity;
} hb_json;

/** Deepest nesting `hb_parse` accepts; deeper input is a syntax error rather than a stack overflow. */
#define HB_MAX_DEPTH 256

/** Parses JSON text (RFC 8259, strict); NULL when it is not valid JSON. Lone `\u` surrogates become U+FFFD. */
hb_json *hb_parse(const char *text, size_t len);
/** The value at `key` of an object, or NULL (also when `object` is not an object). */
const hb_json *hb_get(const hb_json *object, const char *key);
/** Item `index` of an array, or NULL. */
const hb_json *hb_at(const hb_json *array, size_t index);

hb_json *hb_null(void);
hb_json *hb_bool(int b);
/** A number; non-finite values are written as `null`, integers up to 2^53 exactly, others with 17 digits. */
hb_json *hb_number(double n);
/** A number from an integer, written exactly. */
hb_json *hb_int(int64_t n);
/** A string (the bytes are copied into the call's arena). */
hb_json *hb_string(const char *ptr, size_t len);
hb_json *hb_array(void);
hb_json *hb_object(void);
/** Appends to an array; returns the array. */
hb_json *hb_push(hb_json *array, hb_json *item);
/** Sets `key` on an object (replacing an existing one); returns the object. */
hb_json *hb_put(hb_json *object, const char *key, hb_json *value);

/* --- buffers ------------------------------------------------------------------------------------------------ */

/** A growable byte buffer in the call's arena. */
typedef struct {
  char *ptr;
  size_t len;
  size_t cap;
} hb_buf;

hb_buf hb_buf_new(void);
void hb_buf_append(hb_buf *b, const char *ptr, size_t len);
void hb_buf_cstr(hb_buf *b, const char *s);
void hb_buf_byte(hb_buf *b, char c);
/** Appends the UTF-8 encoding of code point `cp`. */
void hb_buf_utf8(hb_buf *b, uint32_t cp);
/** Appends the decimal form of `n`. */
void hb_buf_int(hb_buf *b, int64_t n);
/** Appends the JSON text of `v` (strings escaped as JSON strings). */
void hb_buf_json(hb_buf *b, const hb_json *v);

/**
 * Decodes the UTF-8 code point at `*pos` in `s` and advances `*pos`; an invalid sequence yields U+FFFD and
 * advances one byte.
 */
uint32_t hb_utf8_next(hb_str s, size_t *pos);

/* --- results ------------------------------------------------------------------------------------------------ */

typedef enum { HB_RESULT_OK = 0, HB_RESULT_BODY, HB_RESULT_STATUS } hb_result_kind;

/** What a handler returns; make one with the functions below. */
typedef struct {
  hb_result_kind kind;
  int status;
  hb_buf body;
} hb_result;

/** ABI statuses, for `hb_status`. */
#define HB_STATUS_ERROR (-1)
#define HB_STATUS_OUT_OF_MEMORY (-2)
#define HB_STATUS_BAD_PAYLOAD (-3)
#define HB_STATUS_UNKNOWN_HOOK (-4)

/** Success with no body: a filter leaves the value unchanged; an action is done. */
hb_result hb_ok(void);
/** Filter: the next value. */
hb_result hb_value(const hb_json *value);
/** Filter: stop the chain with this value. */
hb_result hb_short_circuit(const hb_json *value);
/** A guest error with a message and an optional code (NULL for none): the host reports `GuestError`. */
hb_result hb_error(const char *message, const char *code);
/** A raw ABI status (HB_STATUS_*). */
hb_result hb_status(int status);

/* --- hooks -------------------------------------------------------------------------------------------------- */

typedef hb_result (*hb_filter_fn)(const hb_json *value, const hb_json *args);
typedef hb_result (*hb_action_fn)(const hb_json *args);

/** One handled hook: a name with a filter or an action handler. */
typedef struct {
  const char *name;
  hb_filter_fn filter;
  hb_action_fn action;
} hb_hook;

#define HB_FILTER(name, fn) { (name), (fn), 0 }
#define HB_ACTION(name, fn) { (name), 0, (fn) }
/** Declares the plugin's hooks; the SDK dispatches `gn_handle_hook` by name and kind. Use once per plugin. */
#define HB_HOOKS(...) const hb_hook hb_hooks[] = { __VA_ARGS__, { 0, 0, 0 } };

/* --- host functions ----------------------------------------------------------------------------------------- */

typedef enum { HB_DEBUG = 0, HB_INFO = 1, HB_WARN = 2, HB_ERROR = 3 } hb_level;

/** Writes a line to the host's Effect logger (imports `gn_log`). */
void hb_log(hb_level level, const char *ptr, size_t len);
/** Traps the call with `message` (imports `gn_panic`; the host reports `Trapped`, kind "panic"). */
_Noreturn void hb_panic(const char *message);
/** The host's wall clock, Unix milliseconds (imports `gn_time_ms`). */
int64_t hb_time_ms(void);
/**
 * A key of the manifest's `config` as JSON text (`"hello"` with its quotes, `42`), copied into the call's arena;
 * `.ptr` is NULL when the config has no such key or the host could not answer (ABI v1.1, imports
 * `gn_config_get` only when called). `hb_parse` reads the text.
 */
hb_str hb_config_get(hb_str key);

/* --- memory ------------------------------------------------------------------------------------------------- */

/** Arena memory for the current call (8-byte aligned), released when the call returns; NULL when out of memory. */
void *hb_scratch(size_t size);
/** Bytes the allocator has taken from linear memory so far (its high-water mark), for tests and diagnostics. */
size_t hb_heap_used(void);

#ifdef __cplusplus
}
#endif

#endif
