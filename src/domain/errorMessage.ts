/**
 * The text of a thrown value: an `Error`'s message, or the value as a string.
 *
 * @internal
 */
export const errorMessage = (error: unknown): string => error instanceof Error ? error.message : String(error)
