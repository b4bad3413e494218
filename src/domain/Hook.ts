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

/**
 * The two kinds of hook.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { Hook } from "hookbus"
 *
 * const kinds: ReadonlyArray<Hook.HookKind> = ["action", "filter"]
 */
export type HookKind = "action" | "filter"

/**
 * A schema that encodes and decodes without services, as the plugin bridge needs.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Schema } from "effect"
 * import type { Hook } from "hookbus"
 *
 * const schema: Hook.HookSchema = Schema.String
 */
export type HookSchema = Schema.Codec<any, any, never, never>

/**
 * Maps a tuple of schemas to the tuple of their types.
 *
 * @since 0.1.0
 * @category type-level
 * @example
 * import { Schema } from "effect"
 * import type { Hook } from "hookbus"
 *
 * type Args = Hook.TypesOf<[typeof Schema.String, typeof Schema.Number]> // [string, number]
 */
export type TypesOf<S extends ReadonlyArray<HookSchema>> = { -readonly [K in keyof S]: S[K]["Type"] }

/**
 * Why a hook should no longer be used, and since which version (`Hook.deprecate`).
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { Hook } from "hookbus"
 *
 * const deprecation: Hook.Deprecation = { message: "use post.published", since: "2.0.0" }
 */
export interface Deprecation {
  readonly message: string
  readonly since: string
}

/**
 * An action hook: handlers receive `Args` and return nothing.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Schema } from "effect"
 * import { Hook } from "hookbus"
 *
 * const PostSaved: Hook.ActionHook<[string]> = Hook.action("post.saved", { args: [Schema.String] })
 */
export interface ActionHook<in out Args extends ReadonlyArray<unknown> = Array<unknown>, E = unknown> {
  readonly kind: "action"
  readonly name: string
  /** `kind:name`, the identity two definitions of the same hook share. */
  readonly key: string
  readonly schemas: {
    readonly args?: ReadonlyArray<HookSchema> | undefined
    readonly error?: HookSchema | undefined
  }
  /** Set by `Hook.deprecate`: registering on or dispatching this hook logs a warning. */
  readonly deprecated?: Deprecation | undefined
  /** Phantom: the argument types. */
  readonly Args?: (args: Args) => Args
  /** Phantom: the error type its handlers fail with (`unknown`: the hook declares none). */
  readonly Error?: () => E
}

/**
 * A filter hook: handlers receive the value `A` and `Args`, and return the next `A`.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Schema } from "effect"
 * import { Hook } from "hookbus"
 *
 * const TheContent: Hook.FilterHook<string, []> = Hook.filter("the_content", { value: Schema.String })
 */
export interface FilterHook<
  in out A = unknown,
  in out Args extends ReadonlyArray<unknown> = Array<unknown>,
  E = unknown
> {
  readonly kind: "filter"
  readonly name: string
  /** `kind:name`, the identity two definitions of the same hook share. */
  readonly key: string
  readonly schemas: {
    readonly value?: HookSchema | undefined
    readonly args?: ReadonlyArray<HookSchema> | undefined
    readonly error?: HookSchema | undefined
  }
  /** Set by `Hook.deprecate`: registering on or dispatching this hook logs a warning. */
  readonly deprecated?: Deprecation | undefined
  /** Phantom: the value and argument types. */
  readonly Value?: (value: A, args: Args) => A
  /** Phantom: the error type its handlers fail with (`unknown`: the hook declares none). */
  readonly Error?: () => E
}

/**
 * The error type a hook declares for its handlers (`Hook.action(name, { error })`), `unknown` when it declares none.
 *
 * @since 0.1.0
 * @category type-level
 * @example
 * import { Schema } from "effect"
 * import { Hook } from "hookbus"
 *
 * class Denied extends Schema.TaggedError<Denied>()("Denied", { user: Schema.String }) {}
 * const Login = Hook.action("user.login", { args: [Schema.String], error: Denied })
 * type E = Hook.ErrorOf<typeof Login> // Denied
 */
export type ErrorOf<H> = H extends { readonly Error?: () => infer E } ? E : unknown

/** The error type of a declared error schema, `unknown` when there is none. */
type DeclaredError<Err> = [Err] extends [never] ? unknown : Err extends HookSchema ? Err["Type"] : unknown

/**
 * The value type of a filter hook.
 *
 * @since 0.1.0
 * @category type-level
 * @example
 * import { Hook } from "hookbus"
 *
 * const Title = Hook.filter<string, [postId: number]>("the_title")
 * type Value = Hook.ValueOf<typeof Title> // string
 */
export type ValueOf<H> = H extends FilterHook<infer A, any> ? A : never

/**
 * The argument types of a hook.
 *
 * @since 0.1.0
 * @category type-level
 * @example
 * import { Hook } from "hookbus"
 *
 * const Title = Hook.filter<string, [postId: number]>("the_title")
 * type Args = Hook.ArgsOf<typeof Title> // [postId: number]
 */
export type ArgsOf<H> = H extends FilterHook<any, infer Args> ? Args
  : H extends ActionHook<infer Args> ? Args
  : never

/**
 * Any hook definition.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Hook } from "hookbus"
 *
 * const names = (hooks: ReadonlyArray<Hook.AnyHook>) => hooks.map((h) => `${h.kind} ${h.name}`)
 * names([Hook.action("init"), Hook.filter("the_content")])
 */
export type AnyHook = ActionHook<any, any> | FilterHook<any, any, any>

/**
 * The key under which the bus keeps a hook's handlers.
 *
 * @since 0.1.0
 * @category utils
 * @example
 * import { Hook } from "hookbus"
 *
 * Hook.keyOf("filter", "the_content") // "filter:the_content", the same as Hook.filter("the_content").key
 */
export const keyOf = (kind: HookKind, name: string): string => `${kind}:${name}`

const checkName = (name: string): void => {
  const problem = HookName.problem(name)
  if (problem !== undefined) throw new InvalidHookName({ name: String(name), message: problem })
}

/**
 * Defines an action hook. With `args` schemas, the handler arguments are typed by them; without, they are the
 * explicit type parameter (or `unknown`). With an `error` schema, handlers must fail with that type (checked at
 * compile time, and by `Schema.is` on the bus: another failure counts as a defect), and `doAction` fails with
 * `ActionFailed<E>`. Throws `InvalidHookName` for a name that breaks the rules in `HookName`.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { Schema } from "effect"
 * import { Hook } from "hookbus"
 *
 * const Init = Hook.action("init")
 * const PostSaved = Hook.action("post.saved", { args: [Schema.String, Schema.Number] })
 * const Typed = Hook.action<[id: string]>("user.login")
 * class Denied extends Schema.TaggedError<Denied>()("Denied", { user: Schema.String }) {}
 * const Login = Hook.action("user.login", { args: [Schema.String], error: Denied }) // handlers fail with Denied
 */
export function action<Args extends ReadonlyArray<unknown> = Array<unknown>>(name: string): ActionHook<Args>
export function action<const S extends ReadonlyArray<HookSchema>, Err extends HookSchema = never>(
  name: string,
  schemas: { readonly args: S; readonly error?: Err }
): ActionHook<TypesOf<S>, DeclaredError<Err>>
export function action<Err extends HookSchema>(
  name: string,
  schemas: { readonly error: Err }
): ActionHook<Array<unknown>, Err["Type"]>
export function action(
  name: string,
  schemas?: { readonly args?: ReadonlyArray<HookSchema>; readonly error?: HookSchema }
): ActionHook<any, any> {
  checkName(name)
  return {
    kind: "action",
    name,
    key: keyOf("action", name),
    schemas: { args: schemas?.args, error: schemas?.error },
    deprecated: undefined
  }
}

/**
 * Defines a filter hook. With a `value` schema (and `args` schemas), the value and arguments are typed by them;
 * without, by the explicit type parameters (or `unknown`). An `error` schema types handlers' failures as for
 * `action` (`FilterFailed<A, E>`; a `ShortCircuit` is always allowed). Throws `InvalidHookName` for a bad name.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { Schema } from "effect"
 * import { Hook } from "hookbus"
 *
 * const TheContent = Hook.filter("the_content", { value: Schema.String })
 * const Title = Hook.filter<string, [postId: number]>("the_title")
 */
export function filter<A = unknown, Args extends ReadonlyArray<unknown> = Array<unknown>>(
  name: string
): FilterHook<A, Args>
export function filter<
  V extends HookSchema,
  const S extends ReadonlyArray<HookSchema> = readonly [],
  Err extends HookSchema = never
>(
  name: string,
  schemas: { readonly value: V; readonly args?: S; readonly error?: Err }
): FilterHook<V["Type"], TypesOf<S>, DeclaredError<Err>>
export function filter(
  name: string,
  schemas?: { readonly value?: HookSchema; readonly args?: ReadonlyArray<HookSchema>; readonly error?: HookSchema }
): FilterHook<any, any, any> {
  checkName(name)
  return {
    kind: "filter",
    name,
    key: keyOf("filter", name),
    schemas: {
      value: schemas?.value,
      args: schemas?.args ?? (schemas?.value ? [] : undefined),
      error: schemas?.error
    },
    deprecated: undefined
  }
}

/**
 * Marks a hook deprecated (hookable `deprecateHook`): the same hook (kind, name, handlers), whose use a bus reports.
 * Registering on it logs one warning per source, dispatching it one warning per hook, each naming the hook, the
 * `since` version and the `message`. Once a bus has met the deprecated definition, it also warns for registrations
 * and dispatches made with any other definition of the hook (a plugin's, registered by name).
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { Hook } from "hookbus"
 *
 * export const PostSaved = Hook.deprecate(Hook.action<[id: string]>("post.saved"), {
 *   message: "use post.published",
 *   since: "2.0.0"
 * })
 */
export const deprecate = <H extends AnyHook>(hook: H, deprecation: Deprecation): H => ({
  ...hook,
  deprecated: { message: deprecation.message, since: deprecation.since }
})

/**
 * Stops a filter chain: the dispatch succeeds with `value`, and later handlers do not run.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { Effect } from "effect"
 * import { Hook, HookBus } from "hookbus"
 *
 * const TheContent = Hook.filter<string>("the_content")
 * const program = Effect.gen(function*() {
 *   const bus = yield* HookBus
 *   yield* bus.addFilter(TheContent, (text) => text.length === 0 ? Hook.shortCircuit("(empty)") : Effect.succeed(text))
 * })
 */
export const shortCircuit = <A>(value: A): Effect.Effect<never, ShortCircuit<A>> =>
  Effect.fail(new ShortCircuit({ value }))
