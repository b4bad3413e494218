/* audit in C: async action `post.saved(id, author?)`, writes an audit line through gn_log. The same behaviour as
 * examples/plugins/audit (test/SameBehaviour.test.ts compares the lines). */
#include "hookbus.h"

/* Two digits (or more, zero-padded to `width`) of `n` into `out`, from the right. */
static void digits(char *out, int64_t n, int width) {
  for (int i = width - 1; i >= 0; i--) {
    out[i] = (char)('0' + n % 10);
    n /= 10;
  }
}

/* Milliseconds since the epoch as ISO 8601 in UTC (`1970-01-01T00:00:00.000Z`); years 0 to 9999. The civil date
 * from a day count, after Howard Hinnant's `civil_from_days`. */
static void iso(hb_buf *b, int64_t ms) {
  int64_t days = ms / 86400000, rest = ms % 86400000;
  if (rest < 0) {
    rest += 86400000;
    days -= 1;
  }
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char text[24] = "0000-00-00T00:00:00.000Z";
  digits(text, y, 4);
  digits(text + 5, m, 2);
  digits(text + 8, d, 2);
  digits(text + 11, rest / 3600000, 2);
  digits(text + 14, rest / 60000 % 60, 2);
  digits(text + 17, rest / 1000 % 60, 2);
  digits(text + 20, rest % 1000, 3);
  hb_buf_append(b, text, 24);
}

static hb_result saved(const hb_json *args) {
  const hb_json *id = hb_at(args, 0);
  if (id == 0) return hb_error("post.saved needs the post id", "E_ARGS");
  const hb_json *author = hb_at(args, 1);
  hb_buf line = hb_buf_new();
  hb_buf_cstr(&line, "audit: post ");
  if (id->kind == HB_STRING) hb_buf_append(&line, id->text.ptr, id->text.len);
  else hb_buf_json(&line, id);
  hb_buf_cstr(&line, " saved by ");
  if (author != 0 && author->kind == HB_STRING) hb_buf_append(&line, author->text.ptr, author->text.len);
  else hb_buf_cstr(&line, "unknown");
  hb_buf_cstr(&line, " at ");
  iso(&line, hb_time_ms());
  hb_log(HB_INFO, line.ptr, line.len);
  return hb_ok();
}

HB_HOOKS(HB_ACTION("post.saved", saved))
