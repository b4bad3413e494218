/**
 * Hook definitions: a named action or filter, with the types its handlers see and, optionally, the schemas that
 * check its values where they cross an untrusted boundary (plugins, JSON).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import { InvalidHookName, ShortCircuit } from "./HookErrors.ts"
import * as HookName from "./HookName.ts"

/** The two kinds of hook. */
export type HookKind = "action" | "filter"

/** A schema that encodes and decodes without services, as the plugin bridge needs. */
export type HookSchema = Schema.Codec<any, any, never, never>

/** Maps a tuple of schemas to the tuple of their types. */
export type TypesOf<S extends ReadonlyArray<HookSchema>> = { -readonly [K in keyof S]: S[K]["Type"] }

/**
 * An action hook: handlers receive `Args` and return nothing.
 *
 * @example
 * const PostSaved = Hook.action("post.saved", { args: [Schema.String] }) // ActionHook<[string]>
 */
export interface ActionHook<in out Args extends ReadonlyArray<unknown> = Array<unknown>> {
  readonly kind: "action"
  readonly name: string
  /** `kind:name`, the identity two definitions of the same hook share. */
  readonly key: string
  readonly schemas: { readonly args?: ReadonlyArray<HookSchema> | undefined }
  /** Phantom: the argument types. */
  readonly Args?: (args: Args) => Args
}

/**
 * A filter hook: handlers receive the value `A` and `Args`, and return the next `A`.
 *
 * @example
 * const TheContent = Hook.filter("the_content", { value: Schema.String }) // FilterHook<string, []>
 */
export interface FilterHook<in out A = unknown, in out Args extends ReadonlyArray<unknown> = Array<unknown>> {
  readonly kind: "filter"
  readonly name: string
  /** `kind:name`, the identity two definitions of the same hook share. */
  readonly key: string
  readonly schemas: {
    readonly value?: HookSchema | undefined
    readonly args?: ReadonlyArray<HookSchema> | undefined
  }
  /** Phantom: the value and argument types. */
  readonly Value?: (value: A, args: Args) => A
}

/** The value type of a filter hook. */
export type ValueOf<H> = H extends FilterHook<infer A, any> ? A : never

/** The argument types of a hook. */
export type ArgsOf<H> = H extends FilterHook<any, infer Args> ? Args
  : H extends ActionHook<infer Args> ? Args
  : never

/** Any hook definition. */
export type AnyHook = ActionHook<any> | FilterHook<any, any>

/** The key under which the bus keeps a hook's handlers. */
export const keyOf = (kind: HookKind, name: string): string => `${kind}:${name}`

const checkName = (name: string): void => {
  const problem = HookName.problem(name)
  if (problem !== undefined) throw new InvalidHookName({ name: String(name), message: problem })
}

/**
 * Defines an action hook. With `args` schemas, the handler arguments are typed by them; without, they are the
 * explicit type parameter (or `unknown`). Throws `InvalidHookName` for a name that breaks the rules in `HookName`.
 *
 * @example
 * const Init = Hook.action("init")
 * const PostSaved = Hook.action("post.saved", { args: [Schema.String, Schema.Number] })
 * const Typed = Hook.action<[id: string]>("user.login")
 */
export function action<Args extends ReadonlyArray<unknown> = Array<unknown>>(name: string): ActionHook<Args>
export function action<const S extends ReadonlyArray<HookSchema>>(
  name: string,
  schemas: { readonly args: S }
): ActionHook<TypesOf<S>>
export function action(name: string, schemas?: { readonly args?: ReadonlyArray<HookSchema> }): ActionHook<any> {
  checkName(name)
  return { kind: "action", name, key: keyOf("action", name), schemas: { args: schemas?.args } }
}

/**
 * Defines a filter hook. With a `value` schema (and `args` schemas), the value and arguments are typed by them;
 * without, by the explicit type parameters (or `unknown`). Throws `InvalidHookName` for a bad name.
 *
 * @example
 * const TheContent = Hook.filter("the_content", { value: Schema.String })
 * const Title = Hook.filter<string, [postId: number]>("the_title")
 */
export function filter<A = unknown, Args extends ReadonlyArray<unknown> = Array<unknown>>(
  name: string
): FilterHook<A, Args>
export function filter<V extends HookSchema, const S extends ReadonlyArray<HookSchema> = readonly []>(
  name: string,
  schemas: { readonly value: V; readonly args?: S }
): FilterHook<V["Type"], TypesOf<S>>
export function filter(
  name: string,
  schemas?: { readonly value?: HookSchema; readonly args?: ReadonlyArray<HookSchema> }
): FilterHook<any, any> {
  checkName(name)
  return {
    kind: "filter",
    name,
    key: keyOf("filter", name),
    schemas: { value: schemas?.value, args: schemas?.args ?? (schemas?.value ? [] : undefined) }
  }
}

/**
 * Stops a filter chain: the dispatch succeeds with `value`, and later handlers do not run.
 *
 * @example
 * bus.addFilter(TheContent, (text) => text.length === 0 ? Hook.shortCircuit("(empty)") : Effect.succeed(text))
 */
export const shortCircuit = <A>(value: A): Effect.Effect<never, ShortCircuit<A>> =>
  Effect.fail(new ShortCircuit({ value }))
