/**
 * The rules every hook name follows, in one place: the bus, manifests and the wasm bridge all use them.
 *
 * @since 0.1.0
 */

/**
 * The longest hook name, in UTF-8 bytes (the ABI's name block is capped at the same size).
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { HookName } from "hookbus"
 *
 * HookName.isValid("x".repeat(HookName.maxBytes + 1)) // false
 */
export const maxBytes = 256

const encoder = new TextEncoder()

/**
 * Characters a name must not carry: control characters (C0, DEL, C1), line and paragraph separators, and bidi
 * overrides, which forge or reorder lines where a name is printed; and (matched only unpaired, under the `u`
 * flag) lone surrogates, which do not encode to UTF-8.
 */
// oxlint-disable-next-line no-control-regex -- matching control characters is the point
const unprintablePattern = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/u

/**
 * The first unprintable character of `text`, described, or `undefined`.
 *
 * @since 0.1.0
 * @category validation
 * @example
 * import { HookName } from "hookbus"
 *
 * HookName.unprintableAt("post\nsaved") // { index: 4, code: 10, what: "a control character" }
 */
export const unprintableAt = (
  text: string
): { readonly index: number; readonly code: number; readonly what: string } | undefined => {
  const match = unprintablePattern.exec(text)
  if (match === null) return undefined
  const code = match[0].charCodeAt(0)
  const what = code >= 0xd800 && code <= 0xdfff
    ? "a lone surrogate"
    : code === 0x2028 || code === 0x2029
    ? "a line separator"
    : code >= 0x202a
    ? "a bidi control"
    : "a control character"
  return { index: match.index, code, what }
}

/**
 * Explains why `name` is not a valid hook name, or returns `undefined` when it is.
 *
 * @since 0.1.0
 * @category validation
 * @example
 * import { HookName } from "hookbus"
 *
 * HookName.problem("") // "a hook name must not be empty"
 * HookName.problem("the_content") // undefined
 */
export const problem = (name: unknown): string | undefined => {
  if (typeof name !== "string") return `a hook name must be a string, got ${typeof name}`
  if (name.length === 0) return "a hook name must not be empty"
  const unprintable = unprintableAt(name)
  if (unprintable !== undefined) {
    return `a hook name must not contain ${unprintable.what} (U+${
      unprintable.code.toString(16).toUpperCase().padStart(4, "0")
    } at index ${unprintable.index})`
  }
  // A UTF-16 code unit encodes to at most 3 UTF-8 bytes, so short names skip the encoding.
  if (name.length * 3 <= maxBytes) return undefined
  const bytes = encoder.encode(name).length
  return bytes > maxBytes ? `a hook name must be at most ${maxBytes} UTF-8 bytes, got ${bytes}` : undefined
}

/**
 * Whether `name` is a valid hook name.
 *
 * @since 0.1.0
 * @category validation
 * @example
 * import { HookName } from "hookbus"
 *
 * const names = ["the_content", "", "post.saved"].filter(HookName.isValid) // ["the_content", "post.saved"]
 */
export const isValid = (name: unknown): name is string => problem(name) === undefined
