/**
 * The rules every hook name follows, in one place: the bus, manifests and the wasm bridge all use them.
 *
 * @since 0.1.0
 */

/** The longest hook name, in UTF-8 bytes (the ABI's name block is capped at the same size). */
export const maxBytes = 256

const encoder = new TextEncoder()

/**
 * Explains why `name` is not a valid hook name, or returns `undefined` when it is.
 *
 * @example
 * HookName.problem("") // "a hook name must not be empty"
 * HookName.problem("the_content") // undefined
 */
export const problem = (name: unknown): string | undefined => {
  if (typeof name !== "string") return `a hook name must be a string, got ${typeof name}`
  if (name.length === 0) return "a hook name must not be empty"
  // A UTF-16 code unit encodes to at most 3 UTF-8 bytes, so short names skip the encoding.
  if (name.length * 3 <= maxBytes) return undefined
  const bytes = encoder.encode(name).length
  return bytes > maxBytes ? `a hook name must be at most ${maxBytes} UTF-8 bytes, got ${bytes}` : undefined
}

/** Whether `name` is a valid hook name. */
export const isValid = (name: unknown): name is string => problem(name) === undefined
