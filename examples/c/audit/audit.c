/* audit in C: async action `post.saved(id, author?)`, writes an audit line through gn_log. The same behaviour as
 * examples/plugins/audit (test/SameBehaviour.test.ts compares the lines). */
#include "hookbus.h"

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
  hb_buf_int(&line, hb_time_ms());
  hb_log(HB_INFO, line.ptr, line.len);
  return hb_ok();
}

HB_HOOKS(HB_ACTION("post.saved", saved))
