/**
 * The hook bus service: register handlers on hooks, fire actions, thread values through filters.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { ActionOptions, FilterOptions } from "../domain/Handler.ts"
import type { ActionHook, AnyHook, ArgsOf, ErrorOf, FilterHook, ValueOf } from "../domain/Hook.ts"
import type { RegistrationRejected, ShortCircuit } from "../domain/HookErrors.ts"
import type { InvalidOptions } from "../domain/InvalidOptions.ts"
import { makeHookBus } from "../layers/HookBusLive.ts"
import * as HookBusConfig from "./HookBusConfig.ts"
import type { HookBusOptions } from "./HookBusOptions.ts"
import type {
  ActionHandler,
  CheckDeclaredError,
  CheckShortCircuit,
  FilterHandler,
  HookBusShape
} from "./HookBusShape.ts"
import { type HookBusStubs, makeStubBus } from "./HookBusStub.ts"
import { type DispatchRecord, HookRecorder } from "./HookRecorder.ts"
import { CurrentHookFrame } from "./internal/HookStack.ts"

export type * from "./HookBusOptions.ts"
export type * from "./HookBusShape.ts"
export * from "./HookBusStub.ts"

/**
 * The hook bus, as an Effect service: register handlers on hooks, fire actions, thread values through filters.
 *
 * @since 0.1.0
 * @category services
 * @example
 * import { Effect } from "effect"
 * import { Hook, HookBus } from "hookbus"
 *
 * const TheContent = Hook.filter<string>("the_content")
 * const program = Effect.gen(function*() {
 *   const bus = yield* HookBus
 *   yield* bus.addFilter(TheContent, (text) => Effect.succeed(text.toUpperCase()))
 *   return yield* bus.applyFilters(TheContent, "hello")
 * }).pipe(Effect.scoped, Effect.provide(HookBus.layer))
 */
export class HookBus extends Context.Service<HookBus, HookBusShape>()("hookbus/HookBus") {
  /**
   * The hook definition of the innermost dispatch this fiber is running, or `undefined` outside any dispatch. It
   * reads the fiber, not a bus, so it needs no service (plugins use it to find the dispatching hook's schemas).
   */
  static readonly currentHook: Effect.Effect<AnyHook | undefined> = Effect.map(CurrentHookFrame, (frame) => frame?.hook)

  /** A bus with default options. */
  static readonly layer: Layer.Layer<HookBus> = Layer.effect(HookBus, Effect.orDie(makeHookBus({})))

  /**
   * A bus with the given options. Options that cannot be used fail the layer with `InvalidOptions`, naming the
   * option (`maxDepth`, `async.concurrency`, ...).
   */
  static readonly layerWith = (options: HookBusOptions): Layer.Layer<HookBus, InvalidOptions> =>
    Layer.effect(HookBus, makeHookBus(options))

  /**
   * For tests: the real bus (tracing and metrics off unless set) plus a `HookRecorder` of every dispatch.
   *
   * @example
   * import { Effect } from "effect"
   * import { Hook, HookBus, HookRecorder } from "hookbus"
   *
   * const test = Effect.gen(function*() {
   *   yield* HookBus.use((bus) => bus.doAction(Hook.action<[string]>("post.saved"), "42"))
   *   const saved = yield* HookRecorder.use((r) => r.recordsOf("post.saved"))
   *   return saved.map((r) => r.args) // [["42"]]
   * }).pipe(Effect.provide(HookBus.layerTest))
   */
  static readonly layerTest: Layer.Layer<HookBus | HookRecorder> = Layer.effectContext(
    Effect.suspend(() => Effect.orDie(makeTestBus({})))
  )

  /**
   * For unit tests of code that dispatches: a bus that answers from a table of stubs by hook name, without a real
   * bus (see `makeStubBus`; next to the recording `layerTest`).
   *
   * @example
   * import { Effect } from "effect"
   * import { Hook, HookBus } from "hookbus"
   *
   * const Stub = HookBus.layerStub({ filters: { the_content: (text) => Effect.succeed(`<p>${text}</p>`) } })
   * const html = HookBus.use((bus) => bus.applyFilters(Hook.filter<string>("the_content"), "hi")).pipe(
   *   Effect.provide(Stub)
   * ) // "<p>hi</p>"
   */
  static readonly layerStub = (stubs: HookBusStubs): Layer.Layer<HookBus> =>
    Layer.sync(HookBus, () => makeStubBus(stubs))

  /**
   * Registers one handler for the life of a Layer (an action or a filter, by the hook's kind): the layer needs
   * `HookBus` and the handler's services, and fails with `RegistrationRejected`.
   *
   * @example
   * import { Effect, Layer } from "effect"
   * import { Hook, HookBus } from "hookbus"
   *
   * const TheContent = Hook.filter<string>("the_content")
   * const Trim = HookBus.handler(TheContent, (text) => Effect.succeed(text.trim()), { source: "trim" })
   * const App = Trim.pipe(Layer.provideMerge(HookBus.layer))
   */
  static readonly handler: {
    <H extends ActionHook<any>, E = never, R = never>(
      hook: H,
      handler: ActionHandler<ArgsOf<H>, E, R> & CheckDeclaredError<NoInfer<E>, ErrorOf<H>>,
      options?: ActionOptions<ArgsOf<H>>
    ): Layer.Layer<never, RegistrationRejected, HookBus | R>
    <H extends FilterHook<any, any>, E = never, R = never>(
      hook: H,
      handler:
        & FilterHandler<ValueOf<H>, ArgsOf<H>, E, R>
        & CheckShortCircuit<E, ValueOf<H>>
        & CheckDeclaredError<NoInfer<Exclude<E, ShortCircuit<any>>>, ErrorOf<H>>,
      options?: FilterOptions
    ): Layer.Layer<never, RegistrationRejected, HookBus | R>
  } = (hook: AnyHook, handler: any, options?: any): Layer.Layer<never, RegistrationRejected, any> =>
    Layer.effectDiscard(
      HookBus.use((bus) =>
        hook.kind === "action" ? bus.addAction(hook, handler, options) : bus.addFilter(hook, handler, options)
      )
    )

  /**
   * A bus whose options are read from `Config` (environment variables by default: `HookBusConfig.variables`, such as
   * `HOOKBUS_MAX_DEPTH` or `HOOKBUS_TRACING`); a variable that cannot be used fails the layer with a `ConfigError`
   * naming it, an unset one keeps the option's default.
   *
   * @example
   * import { ConfigProvider, Layer } from "effect"
   * import { HookBus } from "hookbus"
   *
   * const Bus = HookBus.layerConfig.pipe(
   *   Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { HOOKBUS_TRACING: "off" } })))
   * )
   */
  static readonly layerConfig: Layer.Layer<HookBus, Config.ConfigError> = Layer.effect(
    HookBus,
    // The config checks every option as `layerWith` does, so an `InvalidOptions` here would be a bug of ours.
    Effect.gen(function*() {
      const options = yield* HookBusConfig.config
      return yield* Effect.orDie(makeHookBus(options))
    })
  )

  /** `layerTest` with bus options; options that cannot be used fail the layer with `InvalidOptions`. */
  static readonly layerTestWith = (options: HookBusOptions): Layer.Layer<HookBus | HookRecorder, InvalidOptions> =>
    Layer.effectContext(Effect.suspend(() => makeTestBus(options)))
}

const makeTestBus = (options: HookBusOptions) => {
  const records: Array<DispatchRecord> = []
  return Effect.map(
    makeHookBus({ tracing: "off", metrics: false, ...options }, { record: (record) => records.push(record) }),
    (bus) =>
      Context.make(HookBus, bus).pipe(
        Context.add(
          HookRecorder,
          HookRecorder.of({
            records: Effect.sync(() => records.slice()),
            recordsOf: (name, kind) =>
              Effect.sync(() => records.filter((r) => r.hook === name && (kind === undefined || r.kind === kind))),
            clear: Effect.sync(() => {
              records.length = 0
            })
          })
        )
      )
  )
}
