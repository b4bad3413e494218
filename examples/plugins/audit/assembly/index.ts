// audit: async action `post.saved(id, author?)`, writes an audit line (with the host's time, ISO 8601) through gn_log.
import { action, Level, log, nowMs, Result, Value } from "@hookbus/assemblyscript"
export { gn_abi_version, gn_alloc, gn_free, gn_handle_hook } from "@hookbus/assemblyscript"

action("post.saved", (args: Array<Value>): Result => {
  if (args.length == 0) return Result.error("post.saved needs the post id", "E_ARGS")
  const id = args[0].isString ? args[0].asString() : args[0].stringify()
  const author = args.length > 1 && args[1].isString ? args[1].asString() : "unknown"
  log(Level.Info, "audit: post " + id + " saved by " + author + " at " + new Date(nowMs()).toISOString())
  return Result.ok()
})
