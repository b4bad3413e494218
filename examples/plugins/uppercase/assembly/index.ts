// uppercase: filter `the_content`, uppercases the text (GoNext's ABI test fixture, as a real plugin).
import { filter, Result, Value } from "@hookbus/assemblyscript"
export { gn_abi_version, gn_alloc, gn_free, gn_handle_hook } from "@hookbus/assemblyscript"

filter("the_content", (value: Value, args: Array<Value>): Result => {
  if (!value.isString) return Result.error("the_content must be a string", "E_TYPE")
  return Result.value(Value.string(value.asString().toUpperCase()))
})
