/**
 * The hooks a fiber is dispatching, as an immutable linked list in the fiber's context: nested dispatch pushes a
 * frame for the handlers it runs, so `current` and the depth limit are fiber-local and right under concurrency.
 *
 * @internal
 */
import * as Context from "effect/Context"
import type { AnyHook } from "../../domain/Hook.ts"

/** One dispatch in progress. */
export interface HookFrame {
  /** The definition the dispatch was made with (its schemas matter at plugin boundaries). */
  readonly hook: AnyHook
  readonly depth: number
  readonly parent: HookFrame | undefined
}

/** The innermost dispatch of the current fiber, if any. */
export const CurrentHookFrame = Context.Reference<HookFrame | undefined>("hookbus/CurrentHookFrame", {
  defaultValue: () => undefined
})

export const push = (parent: HookFrame | undefined, hook: AnyHook): HookFrame => ({
  hook,
  depth: parent === undefined ? 1 : parent.depth + 1,
  parent
})

/** Hook names from the outermost dispatch to the innermost. */
export const names = (frame: HookFrame | undefined): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (let f = frame; f !== undefined; f = f.parent) out.push(f.hook.name)
  return out.reverse()
}
