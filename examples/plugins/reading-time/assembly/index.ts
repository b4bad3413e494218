// reading-time: filter `the_content`, appends an estimated reading time (200 words a minute, at least 1 minute).
import { filter, Result, Value } from "@hookbus/assemblyscript"
export { gn_abi_version, gn_alloc, gn_free, gn_handle_hook } from "@hookbus/assemblyscript"

const WORDS_PER_MINUTE: i32 = 200

function countWords(text: string): i32 {
  let words = 0
  let inWord = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    const space = c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 || c == 0xa0
    if (!space && !inWord) words++
    inWord = !space
  }
  return words
}

filter("the_content", (value: Value, args: Array<Value>): Result => {
  if (!value.isString) return Result.error("the_content must be a string", "E_TYPE")
  const text = value.asString()
  const words = countWords(text)
  const minutes = max<i32>(1, (words + WORDS_PER_MINUTE - 1) / WORDS_PER_MINUTE)
  return Result.value(Value.string(text + "\n\n(" + minutes.toString() + " min read)"))
})
