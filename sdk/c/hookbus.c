/*
 * hookbus guest SDK for C: the ABI exports, the allocator, the per-call arena, JSON and results. See hookbus.h.
 * Freestanding: no libc; memcpy/memset compile to bulk-memory instructions (-mbulk-memory).
 */
#include "hookbus.h"

#define EXPORT(name) __attribute__((export_name(name)))
#define IMPORT(name) __attribute__((import_module("env"), import_name(name)))

IMPORT("gn_log") void gn_log(int32_t level, const char *ptr, int32_t len);
IMPORT("gn_panic") void gn_panic(const char *ptr, int32_t len);
IMPORT("gn_time_ms") int64_t gn_time_ms(void);
IMPORT("gn_config_get") int64_t gn_config_get(const char *ptr, int32_t len);

extern const hb_hook hb_hooks[];
extern unsigned char __heap_base;

#define copy(dst, src, n) __builtin_memcpy((dst), (src), (n))

static size_t cstr_len(const char *s) {
  size_t n = 0;
  while (s[n] != 0) n++;
  return n;
}

hb_str hb_cstr(const char *s) {
  hb_str out = { s, cstr_len(s) };
  return out;
}

int hb_str_eq(hb_str a, const char *b) {
  size_t n = cstr_len(b);
  if (n != a.len) return 0;
  for (size_t i = 0; i < n; i++) if (a.ptr[i] != b[i]) return 0;
  return 1;
}

void hb_log(hb_level level, const char *ptr, size_t len) { gn_log((int32_t)level, ptr, (int32_t)len); }

_Noreturn void hb_panic(const char *message) {
  gn_panic(message, (int32_t)cstr_len(message));
  __builtin_trap();
}

int64_t hb_time_ms(void) { return gn_time_ms(); }

/* --- the allocator -------------------------------------------------------------------------------------------
 * Blocks come in size classes: four per power of two (2^k, 1.25, 1.5, 1.75 * 2^k), from 32 bytes, so at most a
 * quarter is wasted. Each block has an 8-byte header (its class and whether it is in use) before the bytes it
 * hands out. A free block goes onto its class's list and is handed out again by the next request of that class;
 * only when a list is empty does the bump pointer advance (growing memory when needed). A repeated workload
 * therefore reaches a fixed set of blocks and memory stops growing.
 */

#define HEADER 8u
#define MAGIC 0x68620000u /* "hb" */
#define CLASSES 112
#define PAGE 65536u

typedef struct {
  uint32_t tag;   /* MAGIC | class */
  uint32_t inuse; /* 1 in use, 0 on a free list */
} header;

static void *free_lists[CLASSES];
static uintptr_t bump = 0;
static uintptr_t heap_end = 0;

static uint32_t class_size(unsigned c) {
  unsigned k = 5 + c / 4, j = c % 4;
  return (uint32_t)((4u + j) << (k - 2));
}

/* The smallest class holding `n` bytes (header included), or -1 when too large. */
static int class_of(uint32_t n) {
  if (n <= 32) return 0;
  unsigned k = 31 - (unsigned)__builtin_clz(n); /* 2^k <= n < 2^(k+1) */
  if (k >= 31) return -1;
  unsigned base = (k - 5) * 4;
  for (unsigned j = 0; j < 4; j++) {
    if (n <= class_size(base + j)) return (int)(base + j);
  }
  return base + 4 < CLASSES ? (int)(base + 4) : -1;
}

static void *block_alloc(uint32_t size) {
  if (size == 0 || size > 0x7fffffffu - HEADER) return 0;
  int c = class_of(size + HEADER);
  if (c < 0) return 0;
  header *h;
  if (free_lists[c] != 0) {
    h = (header *)free_lists[c];
    free_lists[c] = *(void **)(h + 1);
  } else {
    if (bump == 0) {
      bump = ((uintptr_t)&__heap_base + 7u) & ~(uintptr_t)7u;
      heap_end = __builtin_wasm_memory_size(0) * PAGE;
    }
    uintptr_t need = class_size((unsigned)c);
    if (bump + need > heap_end) {
      uintptr_t pages = (bump + need - heap_end + PAGE - 1) / PAGE;
      if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
      heap_end += pages * PAGE;
    }
    h = (header *)bump;
    bump += need;
  }
  h->tag = MAGIC | (uint32_t)c;
  h->inuse = 1;
  return h + 1;
}

static void block_free(void *ptr) {
  if (ptr == 0 || ((uintptr_t)ptr & 7u) != 0) return;
  header *h = (header *)ptr - 1;
  /* Only a block this allocator handed out and that is still in use goes back: a double or stray free is ignored. */
  if ((uintptr_t)h < (uintptr_t)&__heap_base || (uintptr_t)ptr >= bump) return;
  if ((h->tag & 0xffff0000u) != MAGIC || h->inuse != 1) return;
  unsigned c = h->tag & 0xffffu;
  if (c >= CLASSES) return;
  h->inuse = 0;
  *(void **)ptr = free_lists[c];
  free_lists[c] = h;
}

size_t hb_heap_used(void) { return bump == 0 ? 0 : bump - (uintptr_t)&__heap_base; }

EXPORT("gn_alloc") int32_t gn_alloc(int32_t size) {
  if (size <= 0) return 0;
  return (int32_t)(uintptr_t)block_alloc((uint32_t)size);
}

EXPORT("gn_free") void gn_free(int32_t ptr, int32_t size) {
  (void)size;
  block_free((void *)(uintptr_t)ptr);
}

EXPORT("gn_abi_version") int32_t gn_abi_version(void) { return 1; }

/* --- the per-call arena -------------------------------------------------------------------------------------- */

hb_str hb_config_get(hb_str key) {
  hb_str none = { 0, 0 };
  int64_t packed = gn_config_get(key.ptr, (int32_t)key.len);
  uint32_t ptr = (uint32_t)((uint64_t)packed >> 32);
  int32_t len = (int32_t)(uint32_t)packed;
  /* (0, 0): no such key; (0, negative): the host could not answer (docs/abi-v1.md, section 8). */
  if (ptr == 0 || len <= 0) return none;
  char *copied = (char *)hb_scratch((size_t)len);
  if (copied != 0) copy(copied, (const char *)(uintptr_t)ptr, (size_t)len);
  gn_free((int32_t)ptr, len); /* the host's block is the guest's to free */
  if (copied == 0) return none;
  hb_str out = { copied, (size_t)len };
  return out;
}

#define CHUNK 65536u

typedef struct chunk {
  struct chunk *next;
  uint32_t size, used;
} chunk;

static chunk *chunks = 0;

void *hb_scratch(size_t size) {
  size = (size + 7u) & ~(size_t)7u;
  if (chunks == 0 || chunks->size - chunks->used < size) {
    size_t want = size + sizeof(chunk) > CHUNK ? size + sizeof(chunk) : CHUNK;
    if (want > 0x7fff0000u) return 0;
    chunk *c = (chunk *)block_alloc((uint32_t)want);
    if (c == 0) return 0;
    c->next = chunks;
    c->size = (uint32_t)(want - sizeof(chunk));
    c->used = 0;
    chunks = c;
  }
  void *p = (char *)(chunks + 1) + chunks->used;
  chunks->used += (uint32_t)size;
  return p;
}

/* Arena memory the handler cannot go without: running out is a trap with a message, like the AssemblyScript SDK. */
static void *need(size_t size) {
  void *p = hb_scratch(size);
  if (p == 0) hb_panic("hookbus: out of memory");
  return p;
}

static void arena_release(void) {
  while (chunks != 0) {
    chunk *next = chunks->next;
    block_free(chunks);
    chunks = next;
  }
}

/* --- buffers ------------------------------------------------------------------------------------------------- */

hb_buf hb_buf_new(void) {
  hb_buf b = { 0, 0, 0 };
  return b;
}

static void reserve(hb_buf *b, size_t extra) {
  if (b->len + extra <= b->cap) return;
  size_t cap = b->cap < 64 ? 64 : b->cap;
  while (cap < b->len + extra) cap *= 2;
  char *p = (char *)need(cap);
  if (b->len > 0) copy(p, b->ptr, b->len);
  b->ptr = p;
  b->cap = cap;
}

void hb_buf_append(hb_buf *b, const char *ptr, size_t len) {
  if (len == 0) return;
  reserve(b, len);
  copy(b->ptr + b->len, ptr, len);
  b->len += len;
}

void hb_buf_cstr(hb_buf *b, const char *s) { hb_buf_append(b, s, cstr_len(s)); }

void hb_buf_byte(hb_buf *b, char c) {
  reserve(b, 1);
  b->ptr[b->len++] = c;
}

void hb_buf_utf8(hb_buf *b, uint32_t cp) {
  char out[4];
  size_t n;
  if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
  if (cp < 0x80) {
    out[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    n = 2;
  } else if (cp < 0x10000) {
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    n = 3;
  } else if (cp <= 0x10ffff) {
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    n = 4;
  } else {
    hb_buf_utf8(b, 0xfffd);
    return;
  }
  hb_buf_append(b, out, n);
}

void hb_buf_int(hb_buf *b, int64_t n) {
  char digits[24];
  size_t i = sizeof digits;
  uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
  do {
    digits[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (n < 0) digits[--i] = '-';
  hb_buf_append(b, digits + i, sizeof digits - i);
}

uint32_t hb_utf8_next(hb_str s, size_t *pos) {
  const unsigned char *p = (const unsigned char *)s.ptr;
  size_t i = *pos, n = s.len;
  uint32_t c = p[i];
  if (c < 0x80) {
    *pos = i + 1;
    return c;
  }
  unsigned extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
  uint32_t min = extra == 3 ? 0x10000 : extra == 2 ? 0x800 : 0x80;
  if (extra == 0 || c > 0xf4 || i + extra >= n) {
    *pos = i + 1;
    return 0xfffd;
  }
  uint32_t cp = c & (0x3f >> extra);
  for (unsigned k = 1; k <= extra; k++) {
    uint32_t next = p[i + k];
    if ((next & 0xc0) != 0x80) {
      *pos = i + 1;
      return 0xfffd;
    }
    cp = (cp << 6) | (next & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    *pos = i + 1;
    return 0xfffd;
  }
  *pos = i + 1 + extra;
  return cp;
}

/* --- JSON values --------------------------------------------------------------------------------------------- */

static hb_json *make(hb_kind kind) {
  hb_json *v = (hb_json *)need(sizeof(hb_json));
  __builtin_memset(v, 0, sizeof(hb_json));
  v->kind = kind;
  return v;
}

hb_json *hb_null(void) { return make(HB_NULL); }

hb_json *hb_bool(int b) {
  hb_json *v = make(HB_BOOL);
  v->boolean = b != 0;
  return v;
}

hb_json *hb_int(int64_t n) {
  hb_json *v = make(HB_NUMBER);
  hb_buf text = hb_buf_new();
  hb_buf_int(&text, n);
  v->number = (double)n;
  v->text.ptr = text.ptr;
  v->text.len = text.len;
  return v;
}

hb_json *hb_number(double n) {
  if (n != n || n - n != 0) return hb_null();
  if (n == (double)(int64_t)n && n < 9007199254740992.0 && n > -9007199254740992.0) return hb_int((int64_t)n);
  /* 17 significant digits in scientific form: enough to identify the double, though not always the shortest. */
  hb_json *v = make(HB_NUMBER);
  v->number = n;
  hb_buf text = hb_buf_new();
  double m = n < 0 ? -n : n;
  if (n < 0) hb_buf_byte(&text, '-');
  int exp = 0;
  while (m >= 10.0) {
    m /= 10.0;
    exp++;
  }
  while (m < 1.0) {
    m *= 10.0;
    exp--;
  }
  uint64_t digits = (uint64_t)(m * 1e16 + 0.5);
  if (digits >= 100000000000000000ull) {
    digits /= 10;
    exp++;
  }
  while (digits % 10 == 0 && digits != 0) digits /= 10;
  char d[20];
  size_t count = 0;
  while (digits != 0) {
    d[count++] = (char)('0' + digits % 10);
    digits /= 10;
  }
  hb_buf_byte(&text, d[count - 1]);
  if (count > 1) {
    hb_buf_byte(&text, '.');
    for (size_t i = count - 1; i-- > 0;) hb_buf_byte(&text, d[i]);
  }
  if (exp != 0) {
    hb_buf_byte(&text, 'e');
    hb_buf_int(&text, exp);
  }
  v->text.ptr = text.ptr;
  v->text.len = text.len;
  return v;
}

hb_json *hb_string(const char *ptr, size_t len) {
  hb_json *v = make(HB_STRING);
  char *copy_to = (char *)need(len == 0 ? 1 : len);
  if (len > 0) copy(copy_to, ptr, len);
  v->text.ptr = copy_to;
  v->text.len = len;
  return v;
}

hb_json *hb_array(void) { return make(HB_ARRAY); }
hb_json *hb_object(void) { return make(HB_OBJECT); }

static void grow_items(hb_json *v) {
  if (v->count < v->capacity) return;
  size_t cap = v->capacity == 0 ? 4 : v->capacity * 2;
  hb_json **items = (hb_json **)need(cap * sizeof(hb_json *));
  if (v->count > 0) copy(items, v->items, v->count * sizeof(hb_json *));
  v->items = items;
  if (v->kind == HB_OBJECT) {
    hb_str *keys = (hb_str *)need(cap * sizeof(hb_str));
    if (v->count > 0) copy(keys, v->keys, v->count * sizeof(hb_str));
    v->keys = keys;
  }
  v->capacity = cap;
}

hb_json *hb_push(hb_json *array, hb_json *item) {
  if (array->kind != HB_ARRAY) return array;
  grow_items(array);
  array->items[array->count++] = item;
  return array;
}

static int str_same(hb_str a, hb_str b) {
  if (a.len != b.len) return 0;
  for (size_t i = 0; i < a.len; i++) if (a.ptr[i] != b.ptr[i]) return 0;
  return 1;
}

static void put(hb_json *object, hb_str key, hb_json *value) {
  for (size_t i = 0; i < object->count; i++) {
    if (str_same(object->keys[i], key)) {
      object->items[i] = value;
      return;
    }
  }
  grow_items(object);
  object->keys[object->count] = key;
  object->items[object->count++] = value;
}

hb_json *hb_put(hb_json *object, const char *key, hb_json *value) {
  if (object->kind != HB_OBJECT) return object;
  hb_str k = hb_cstr(key);
  char *owned = (char *)need(k.len == 0 ? 1 : k.len);
  if (k.len > 0) copy(owned, k.ptr, k.len);
  k.ptr = owned;
  put(object, k, value);
  return object;
}

const hb_json *hb_get(const hb_json *object, const char *key) {
  if (object == 0 || object->kind != HB_OBJECT) return 0;
  for (size_t i = 0; i < object->count; i++) {
    if (hb_str_eq(object->keys[i], key)) return object->items[i];
  }
  return 0;
}

const hb_json *hb_at(const hb_json *array, size_t index) {
  if (array == 0 || array->kind != HB_ARRAY || index >= array->count) return 0;
  return array->items[index];
}

/* --- JSON text ----------------------------------------------------------------------------------------------- */

static const char HEX[] = "0123456789abcdef";

static void write_string(hb_buf *b, hb_str s) {
  hb_buf_byte(b, '"');
  size_t start = 0;
  for (size_t i = 0; i < s.len; i++) {
    unsigned char c = (unsigned char)s.ptr[i];
    const char *escape = 0;
    char u[6] = { '\\', 'u', '0', '0', 0, 0 };
    if (c == '"') escape = "\\\"";
    else if (c == '\\') escape = "\\\\";
    else if (c == '\n') escape = "\\n";
    else if (c == '\r') escape = "\\r";
    else if (c == '\t') escape = "\\t";
    else if (c < 0x20) {
      u[4] = HEX[c >> 4];
      u[5] = HEX[c & 15];
    } else continue;
    hb_buf_append(b, s.ptr + start, i - start);
    if (escape != 0) hb_buf_cstr(b, escape);
    else hb_buf_append(b, u, 6);
    start = i + 1;
  }
  hb_buf_append(b, s.ptr + start, s.len - start);
  hb_buf_byte(b, '"');
}

void hb_buf_json(hb_buf *b, const hb_json *v) {
  if (v == 0) {
    hb_buf_cstr(b, "null");
    return;
  }
  switch (v->kind) {
  case HB_NULL: hb_buf_cstr(b, "null"); break;
  case HB_BOOL: hb_buf_cstr(b, v->boolean ? "true" : "false"); break;
  case HB_NUMBER: hb_buf_append(b, v->text.ptr, v->text.len); break;
  case HB_STRING: write_string(b, v->text); break;
  case HB_ARRAY:
    hb_buf_byte(b, '[');
    for (size_t i = 0; i < v->count; i++) {
      if (i > 0) hb_buf_byte(b, ',');
      hb_buf_json(b, v->items[i]);
    }
    hb_buf_byte(b, ']');
    break;
  case HB_OBJECT:
    hb_buf_byte(b, '{');
    for (size_t i = 0; i < v->count; i++) {
      if (i > 0) hb_buf_byte(b, ',');
      write_string(b, v->keys[i]);
      hb_buf_byte(b, ':');
      hb_buf_json(b, v->items[i]);
    }
    hb_buf_byte(b, '}');
    break;
  }
}

typedef struct {
  const char *text;
  size_t len, pos;
} parser;

static void skip(parser *p) {
  while (p->pos < p->len) {
    char c = p->text[p->pos];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') p->pos++;
    else break;
  }
}

static int literal(parser *p, const char *word) {
  size_t n = cstr_len(word);
  if (p->len - p->pos < n) return 0;
  for (size_t i = 0; i < n; i++) if (p->text[p->pos + i] != word[i]) return 0;
  p->pos += n;
  return 1;
}

static int hex4(parser *p, uint32_t *out) {
  if (p->len - p->pos < 4) return 0;
  uint32_t code = 0;
  for (int i = 0; i < 4; i++) {
    char h = p->text[p->pos + i];
    int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
    if (d < 0) return 0;
    code = (code << 4) | (uint32_t)d;
  }
  p->pos += 4;
  *out = code;
  return 1;
}

/* A string literal at p->pos (the opening quote); its decoded bytes, or 0 when malformed. */
static int parse_string(parser *p, hb_str *out) {
  p->pos++;
  size_t start = p->pos;
  /* Fast path: no escapes, so the decoded string is a slice of a copy of the text. */
  while (p->pos < p->len) {
    unsigned char c = (unsigned char)p->text[p->pos];
    if (c == '"') {
      size_t n = p->pos - start;
      char *s = (char *)need(n == 0 ? 1 : n);
      if (n > 0) copy(s, p->text + start, n);
      out->ptr = s;
      out->len = n;
      p->pos++;
      return 1;
    }
    if (c < 0x20) return 0;
    if (c == '\\') break;
    p->pos++;
  }
  hb_buf b = hb_buf_new();
  hb_buf_append(&b, p->text + start, p->pos - start);
  while (p->pos < p->len) {
    unsigned char c = (unsigned char)p->text[p->pos];
    if (c == '"') {
      p->pos++;
      out->ptr = b.ptr == 0 ? "" : b.ptr;
      out->len = b.len;
      return 1;
    }
    if (c < 0x20) return 0;
    if (c != '\\') {
      size_t run = p->pos;
      while (run < p->len && p->text[run] != '"' && p->text[run] != '\\' && (unsigned char)p->text[run] >= 0x20) run++;
      hb_buf_append(&b, p->text + p->pos, run - p->pos);
      p->pos = run;
      continue;
    }
    p->pos++;
    if (p->pos >= p->len) return 0;
    char e = p->text[p->pos++];
    switch (e) {
    case '"': hb_buf_byte(&b, '"'); break;
    case '\\': hb_buf_byte(&b, '\\'); break;
    case '/': hb_buf_byte(&b, '/'); break;
    case 'b': hb_buf_byte(&b, '\b'); break;
    case 'f': hb_buf_byte(&b, '\f'); break;
    case 'n': hb_buf_byte(&b, '\n'); break;
    case 'r': hb_buf_byte(&b, '\r'); break;
    case 't': hb_buf_byte(&b, '\t'); break;
    case 'u': {
      uint32_t code;
      if (!hex4(p, &code)) return 0;
      if (code >= 0xd800 && code <= 0xdbff && p->len - p->pos >= 6 && p->text[p->pos] == '\\' && p->text[p->pos + 1] == 'u') {
        size_t save = p->pos;
        uint32_t low;
        p->pos += 2;
        if (hex4(p, &low) && low >= 0xdc00 && low <= 0xdfff) code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        else p->pos = save;
      }
      hb_buf_utf8(&b, code);
      break;
    }
    default: return 0;
    }
  }
  return 0;
}

static size_t digits(parser *p) {
  size_t n = 0;
  while (p->pos < p->len && p->text[p->pos] >= '0' && p->text[p->pos] <= '9') {
    p->pos++;
    n++;
  }
  return n;
}

static const double POW10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

/* The value of a validated JSON number: exact for integers and for decimals within the fast path (up to 15
 * significant digits and a power of ten up to 22); otherwise within a few units in the last place. */
static double number_value(const char *s, size_t n) {
  size_t i = 0;
  int negative = 0;
  if (s[i] == '-') {
    negative = 1;
    i++;
  }
  uint64_t mantissa = 0;
  int scale = 0, significant = 0;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
    if (significant < 19) {
      mantissa = mantissa * 10 + (uint64_t)(s[i] - '0');
      if (mantissa != 0) significant++;
    } else scale++;
  }
  if (i < n && s[i] == '.') {
    for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
      if (significant < 19) {
        mantissa = mantissa * 10 + (uint64_t)(s[i] - '0');
        if (mantissa != 0) significant++;
        scale--;
      }
    }
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    int sign = 1, e = 0;
    if (s[i] == '+' || s[i] == '-') sign = s[i++] == '-' ? -1 : 1;
    for (; i < n; i++) if (e < 100000) e = e * 10 + (s[i] - '0');
    scale += sign * e;
  }
  double v = (double)mantissa;
  while (scale > 22) {
    v *= 1e22;
    scale -= 22;
  }
  while (scale < -22) {
    v /= 1e22;
    scale += 22;
  }
  v = scale >= 0 ? v * POW10[scale] : v / POW10[-scale];
  return negative ? -v : v;
}

static hb_json *parse_value(parser *p, int depth);

static hb_json *parse_number(parser *p) {
  size_t start = p->pos;
  if (p->pos < p->len && p->text[p->pos] == '-') p->pos++;
  if (p->pos >= p->len) return 0;
  char first = p->text[p->pos];
  if (first == '0') p->pos++;
  else if (first >= '1' && first <= '9') digits(p);
  else return 0;
  if (p->pos < p->len && p->text[p->pos] == '.') {
    p->pos++;
    if (digits(p) == 0) return 0;
  }
  if (p->pos < p->len && (p->text[p->pos] == 'e' || p->text[p->pos] == 'E')) {
    p->pos++;
    if (p->pos < p->len && (p->text[p->pos] == '+' || p->text[p->pos] == '-')) p->pos++;
    if (digits(p) == 0) return 0;
  }
  hb_json *v = make(HB_NUMBER);
  size_t n = p->pos - start;
  char *text = (char *)need(n);
  copy(text, p->text + start, n);
  v->text.ptr = text;
  v->text.len = n;
  v->number = number_value(text, n);
  return v;
}

static hb_json *parse_value(parser *p, int depth) {
  if (depth > HB_MAX_DEPTH || p->pos >= p->len) return 0;
  char c = p->text[p->pos];
  if (c == '{') {
    hb_json *object = make(HB_OBJECT);
    p->pos++;
    skip(p);
    if (p->pos < p->len && p->text[p->pos] == '}') {
      p->pos++;
      return object;
    }
    for (;;) {
      skip(p);
      if (p->pos >= p->len || p->text[p->pos] != '"') return 0;
      hb_str key;
      if (!parse_string(p, &key)) return 0;
      skip(p);
      if (p->pos >= p->len || p->text[p->pos] != ':') return 0;
      p->pos++;
      skip(p);
      hb_json *value = parse_value(p, depth + 1);
      if (value == 0) return 0;
      put(object, key, value);
      skip(p);
      if (p->pos >= p->len) return 0;
      char next = p->text[p->pos++];
      if (next == '}') return object;
      if (next != ',') return 0;
    }
  }
  if (c == '[') {
    hb_json *array = make(HB_ARRAY);
    p->pos++;
    skip(p);
    if (p->pos < p->len && p->text[p->pos] == ']') {
      p->pos++;
      return array;
    }
    for (;;) {
      skip(p);
      hb_json *item = parse_value(p, depth + 1);
      if (item == 0) return 0;
      hb_push(array, item);
      skip(p);
      if (p->pos >= p->len) return 0;
      char next = p->text[p->pos++];
      if (next == ']') return array;
      if (next != ',') return 0;
    }
  }
  if (c == '"') {
    hb_json *s = make(HB_STRING);
    return parse_string(p, &s->text) ? s : 0;
  }
  if (c == 't') return literal(p, "true") ? hb_bool(1) : 0;
  if (c == 'f') return literal(p, "false") ? hb_bool(0) : 0;
  if (c == 'n') return literal(p, "null") ? hb_null() : 0;
  return parse_number(p);
}

hb_json *hb_parse(const char *text, size_t len) {
  parser p = { text, len, 0 };
  skip(&p);
  hb_json *v = parse_value(&p, 0);
  if (v == 0) return 0;
  skip(&p);
  return p.pos == len ? v : 0;
}

/* --- results ------------------------------------------------------------------------------------------------- */

hb_result hb_ok(void) {
  hb_result r = { HB_RESULT_OK, 0, { 0, 0, 0 } };
  return r;
}

hb_result hb_status(int status) {
  hb_result r = { HB_RESULT_STATUS, status, { 0, 0, 0 } };
  return r;
}

static hb_result body_result(const hb_json *value, int short_circuit) {
  hb_result r = { HB_RESULT_BODY, 0, hb_buf_new() };
  hb_buf_cstr(&r.body, "{\"value\":");
  hb_buf_json(&r.body, value);
  hb_buf_cstr(&r.body, short_circuit ? ",\"shortCircuit\":true}" : "}");
  return r;
}

hb_result hb_value(const hb_json *value) { return body_result(value, 0); }
hb_result hb_short_circuit(const hb_json *value) { return body_result(value, 1); }

hb_result hb_error(const char *message, const char *code) {
  hb_result r = { HB_RESULT_BODY, 0, hb_buf_new() };
  hb_buf_cstr(&r.body, "{\"error\":{\"message\":");
  write_string(&r.body, hb_cstr(message));
  if (code != 0 && code[0] != 0) {
    hb_buf_cstr(&r.body, ",\"code\":");
    write_string(&r.body, hb_cstr(code));
  }
  hb_buf_cstr(&r.body, "}}");
  return r;
}

/* --- the entry point ----------------------------------------------------------------------------------------- */

static int64_t pack(uint32_t ptr, int32_t len) { return (int64_t)(((uint64_t)ptr << 32) | (uint32_t)len); }

static const hb_hook *find(hb_str name, int filter) {
  for (const hb_hook *h = hb_hooks; h->name != 0; h++) {
    if ((filter ? h->filter != 0 : h->action != 0) && hb_str_eq(name, h->name)) return h;
  }
  return 0;
}

static int64_t dispatch(const char *name_ptr, int32_t name_len, const char *payload_ptr, int32_t payload_len) {
  hb_str name = { name_ptr, (size_t)name_len };
  const hb_json *payload = hb_parse(payload_ptr, (size_t)payload_len);
  if (payload == 0 || payload->kind != HB_OBJECT) return pack(0, HB_STATUS_BAD_PAYLOAD);
  const hb_json *kind = hb_get(payload, "kind");
  const hb_json *args = hb_get(payload, "args");
  if (args == 0 || args->kind != HB_ARRAY) args = hb_array();
  if (kind == 0 || kind->kind != HB_STRING) return pack(0, HB_STATUS_BAD_PAYLOAD);
  hb_result result;
  if (hb_str_eq(kind->text, "filter")) {
    const hb_hook *hook = find(name, 1);
    if (hook == 0) return pack(0, HB_STATUS_UNKNOWN_HOOK);
    const hb_json *value = hb_get(payload, "value");
    result = hook->filter(value != 0 ? value : hb_null(), args);
  } else if (hb_str_eq(kind->text, "action")) {
    const hb_hook *hook = find(name, 0);
    if (hook == 0) return pack(0, HB_STATUS_UNKNOWN_HOOK);
    result = hook->action(args);
  } else {
    return pack(0, HB_STATUS_BAD_PAYLOAD);
  }
  if (result.kind == HB_RESULT_OK) return pack(0, 0);
  if (result.kind == HB_RESULT_STATUS) return pack(0, result.status < 0 ? result.status : HB_STATUS_ERROR);
  if (result.body.len == 0) return pack(0, 0);
  /* The body moves out of the arena into a block of its own, which the host frees with gn_free. */
  char *block = (char *)block_alloc((uint32_t)result.body.len);
  if (block == 0) return pack(0, HB_STATUS_OUT_OF_MEMORY);
  copy(block, result.body.ptr, result.body.len);
  return pack((uint32_t)(uintptr_t)block, (int32_t)result.body.len);
}

EXPORT("gn_handle_hook") int64_t gn_handle_hook(int32_t name_ptr, int32_t name_len, int32_t payload_ptr, int32_t payload_len) {
  int64_t packed = dispatch((const char *)(uintptr_t)name_ptr, name_len, (const char *)(uintptr_t)payload_ptr, payload_len);
  arena_release();
  return packed;
}
