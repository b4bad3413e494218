/**
 * The interceptors of a bus (`bus.intercept`): `beforeEach` and `afterEach` around every dispatch, `register` after
 * every registration. With none installed a dispatch pays one field check (`dispatching`); with some, the dispatch
 * is wrapped, and the `afterEach` record is the one the dispatch's probe makes (the observer records while an
 * `afterEach` is installed, as it does for a subscriber to `bus.dispatches`).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import type { DispatchRecord } from "../../domain/DispatchRecord.ts"
import type { AnyHook } from "../../domain/Hook.ts"
import type { DispatchStart, Interceptor } from "../../domain/Interceptor.ts"
import type { HandlerEvent } from "../../domain/MetaHook.ts"
import * as HandlerContext from "./HandlerContext.ts"

/** Set in the fiber while an interceptor runs: what it dispatches or registers is not intercepted. */
export const InInterceptor = Context.Reference<boolean>("hookbus/InInterceptor", { defaultValue: () => false })

/** Where a dispatch's probe hands its record for `afterEach`. */
export type RecordSink = (record: DispatchRecord) => void

interface Installed {
  readonly interceptor: Interceptor<any>
  /** The services the installing fiber lends its interceptor, as a registration lends its handler. */
  readonly lent: HandlerContext.Lent
}

type Step = "beforeEach" | "afterEach" | "register"

/**
 * The record of a dispatch no probe saw to its end (a `RecursionLimit`, an interceptor installed meanwhile, a stub
 * bus's answer), timed by `clock` from `startedAt` (Unix milliseconds).
 */
export const recordOf = (
  start: DispatchStart,
  exit: Exit.Exit<unknown, unknown>,
  clock: Clock.Clock,
  startedAt: number,
  ran?: Pick<DispatchRecord, "handlers" | "result" | "failures">
): DispatchRecord => ({
  ...start,
  outcome: Exit.isSuccess(exit) ? "ok" : Cause.hasInterruptsOnly(exit.cause) ? "interrupted" : "failed",
  handlers: ran?.handlers ?? [],
  result: ran?.result,
  failures: ran?.failures ?? [],
  shortCircuitedBy: undefined,
  startedAt,
  durationMillis: clock.currentTimeMillisUnsafe() - startedAt,
  timings: []
})

/** The interceptors installed on one bus. */
export class Interceptors {
  /** Whether any has `beforeEach` or `afterEach`: the one check a dispatch makes. */
  dispatching = false
  /** Whether any has `register`. */
  registering = false
  /** Replaced, never changed in place: a dispatch runs the ones installed when it started. */
  private installed: ReadonlyArray<Installed> = []
  /** Told how many `afterEach` are installed, whenever that changes (the observer records while any is). */
  private readonly onChange: (afterEach: number) => void

  constructor(onChange: (afterEach: number) => void) {
    this.onChange = onChange
  }

  /** Installs `interceptor` until the current scope closes. */
  install<R>(interceptor: Interceptor<R>): Effect.Effect<void, never, R | Scope.Scope> {
    return Effect.acquireRelease(
      Effect.withFiber((fiber) =>
        Effect.sync(() => {
          const installed: Installed = { interceptor, lent: HandlerContext.capture(fiber.context) }
          this.set([...this.installed, installed])
          return installed
        })
      ),
      (installed) => Effect.sync(() => this.set(this.installed.filter((i) => i !== installed)))
    )
  }

  private set(installed: ReadonlyArray<Installed>): void {
    this.installed = installed
    this.dispatching = installed.some((i) =>
      i.interceptor.beforeEach !== undefined || i.interceptor.afterEach !== undefined
    )
    this.registering = installed.some((i) => i.interceptor.register !== undefined)
    this.onChange(installed.filter((i) => i.interceptor.afterEach !== undefined).length)
  }

  /**
   * Runs `dispatch` between the `beforeEach` and `afterEach` of the interceptors installed now; `dispatch` hands its
   * record to the sink it is given (none when an interceptor is the one dispatching).
   */
  around<A, E>(
    hook: AnyHook,
    value: unknown,
    args: ReadonlyArray<unknown>,
    dispatch: (sink: RecordSink | undefined) => Effect.Effect<A, E>
  ): Effect.Effect<A, E> {
    return Effect.withFiber((fiber) => {
      if (Context.get(fiber.context, InInterceptor)) return dispatch(undefined)
      const installed = this.installed
      const start: DispatchStart = {
        hook: hook.name,
        kind: hook.kind,
        value: hook.kind === "filter" ? value : undefined,
        args
      }
      let record: DispatchRecord | undefined
      const clock = Context.get(fiber.context, Clock.Clock)
      const startedAt = clock.currentTimeMillisUnsafe()
      const body = Effect.onExit(
        dispatch((r) => {
          record = r
        }),
        (exit) =>
          Effect.suspend(() =>
            this.each(installed, "afterEach", record ?? recordOf(start, exit, clock, startedAt), start)
          )
      )
      return Effect.andThen(this.each(installed, "beforeEach", start, start), body)
    })
  }

  /** Runs every `register` after a registration took effect. */
  registered(event: HandlerEvent): Effect.Effect<void> {
    return Effect.withFiber((fiber) =>
      Context.get(fiber.context, InInterceptor)
        ? Effect.void
        : this.each(this.installed, "register", event, { hook: event.hook, kind: event.kind })
    )
  }

  /** Runs one step of each interceptor that has it, in installation order, each guarded. */
  private each(
    installed: ReadonlyArray<Installed>,
    step: Step,
    input: unknown,
    about: { readonly hook: string; readonly kind: string }
  ): Effect.Effect<void> {
    return Effect.forEach(installed, (i) => {
      const f = i.interceptor[step] as ((input: unknown) => Effect.Effect<void, never, any>) | undefined
      return f === undefined ? Effect.void : guarded(i, step, about, Effect.suspend(() => f(input)))
    }, { discard: true })
  }
}

/**
 * An interceptor's Effect in the calling fiber's context with its lent services, marked as an interceptor's; a
 * defect (a throw included) is logged at ERROR, never returned. An interruption stays one.
 */
const guarded = (
  installed: Installed,
  step: Step,
  about: { readonly hook: string; readonly kind: string },
  effect: Effect.Effect<void, never, any>
): Effect.Effect<void> =>
  Effect.updateContext(effect, (context: Context.Context<never>) => {
    const services = installed.lent.services
    const merged = services === undefined ? context : Context.merge(context, services)
    return Context.add(merged, InInterceptor, true) as Context.Context<any>
  }).pipe(
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause)
        : Effect.logError(`${step} interceptor died`, cause).pipe(
          Effect.annotateLogs({ hook: about.hook, kind: about.kind, interceptor: step })
        )
    )
  ) as Effect.Effect<void>
