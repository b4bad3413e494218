/* slugify in C: filter `post.slug`, turns a title into a URL slug. The shared slug spec (the rules are in
 * examples/plugins/slugify/assembly/index.ts); test/SameBehaviour.test.ts holds it to the AssemblyScript and
 * Rust versions. Lowercasing uses Unicode's simple mapping from the generated casemap.h. */
#include "hookbus.h"
#include "casemap.h"

#define MAX_LENGTH 96

/* Pairs of (letter, ASCII folding), Latin-1 Supplement and Latin Extended-A, lowercase: the same string as the
 * AssemblyScript version, in UTF-8. */
static const char FOLDS[] =
  "àaáaâaãaäaåaæaeçcèeéeêeëeìiíiîiïiðdñnòoóoôoõoöoøoùuúuûuüuýyþthßssÿyāaăaąaćcĉcċcčcďdđdēeĕeėeęeěeĝgğgġgģgĥhħhĩiīiĭiįiıiĳijĵjķkĸkĺlļlľlŀlłlńnņnňnŉnŋnōoŏoőoœoeŕrŗrřrśsŝsşsšsţtťtŧtũuūuŭuůuűuųuŵwŷyźzżzžzſs";

/* The ASCII folding of letter c, or an empty string when there is none. */
static hb_str fold(uint32_t c) {
  hb_str folds = { FOLDS, sizeof FOLDS - 1 };
  hb_str none = { "", 0 };
  if (c < 0xdf || c > 0x17f) return none;
  size_t i = 0;
  while (i < folds.len) {
    uint32_t letter = hb_utf8_next(folds, &i);
    size_t start = i;
    while (i < folds.len && (unsigned char)FOLDS[i] < 0x80) i++;
    if (letter == c) {
      hb_str out = { FOLDS + start, i - start };
      return out;
    }
  }
  return none;
}

static int is_separator(uint32_t c) {
  if (c < 0x80) return !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'));
  return (c >= 0x80 && c <= 0xbf) || c == 0xd7 || c == 0xf7 || (c >= 0x2000 && c <= 0x2bff) ||
         (c >= 0x3000 && c <= 0x303f) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff0f) ||
         (c >= 0x1f000 && c <= 0x1faff) || c == 0xfeff;
}

static hb_result slug(const hb_json *value, const hb_json *args) {
  (void)args;
  if (value->kind != HB_STRING) return hb_error("post.slug takes a title string", "E_TYPE");
  hb_buf out = hb_buf_new();
  size_t length = 0, pos = 0;
  int pending_dash = 0;
  while (pos < value->text.len) {
    uint32_t c = casemap_to_lower(hb_utf8_next(value->text, &pos));
    if (c >= 0x300 && c <= 0x36f) continue;
    if (is_separator(c)) {
      pending_dash = length > 0;
      continue;
    }
    if (c == 0x3c2) c = 0x3c3; /* final sigma folds to sigma */
    hb_str folded = fold(c);
    size_t need = (folded.len > 0 ? folded.len : 1) + (pending_dash ? 1 : 0);
    if (length + need > MAX_LENGTH) break;
    if (pending_dash) hb_buf_byte(&out, '-');
    if (folded.len > 0) hb_buf_append(&out, folded.ptr, folded.len);
    else hb_buf_utf8(&out, c);
    length += need;
    pending_dash = 0;
  }
  return hb_value(hb_string(out.ptr, out.len));
}

HB_HOOKS(HB_FILTER("post.slug", slug))
