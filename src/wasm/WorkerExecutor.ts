/**
 * Worker mode: each pool slot is a worker thread (through `@effect/platform-node`'s `NodeWorker` and
 * `effect/workers`) running one instance of the compiled module, which is shared with the worker, not recompiled.
 * A call that overruns `timeoutMs` terminates its worker, fails with `Timeout`, and a fresh worker takes the slot;
 * a worker that exits on its own fails its call with `Trapped` on that call's hook and is replaced the same way;
 * the other slots are not disturbed. Starting a worker (instantiation, the start function) is bounded by
 * `timeoutMs` too.
 *
 * Host functions stay on this thread: a guest's call to one blocks its worker on a channel of its own
 * (`worker/hostChannel.ts`) while this thread runs the function and writes the answer. A host call that this thread
 * reaches, or finishes, after the guest call's deadline gets no answer: that call ends as `Timeout`, like any overrun.
 *
 * @since 0.1.0
 */
// A subpath import: the package index would load every platform module (redis client included).
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Worker from "effect/workers/Worker"
import * as WorkerThreads from "node:worker_threads"
import { errorMessage } from "../domain/errorMessage.ts"
import { type OutOfFuel, PluginCallError, type PluginLoadError, Timeout, Trapped } from "../domain/PluginErrors.ts"
import type { Answer, Executor, ExecutorSpec } from "./Executor.ts"
import type { CallResult } from "./Guest.ts"
import * as HostChannel from "./worker/hostChannel.ts"
import type { EncodedResult, FromWorker, ToWorker } from "./worker/protocol.ts"

const workerUrl = new URL(`./worker/guestWorker.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`, import.meta.url)
const decodeError = Schema.decodeUnknownSync(PluginCallError)

const decodeResult = (result: EncodedResult): CallResult =>
  result._tag === "Ok" ? result : { _tag: "Err", error: decodeError(result.error), fuelUsed: result.fuelUsed }

interface Slot {
  worker: Worker.Worker<FromWorker, ToWorker>
  /** The id its thread is registered under (the thread is created when the worker starts running). */
  id: number
  scope: Scope.Closeable
  /** Calls in flight, with their hook (to name it when the worker dies). */
  readonly pending: Map<number, { readonly hook: string; readonly deferred: Deferred.Deferred<Answer> }>
  /** The worker exited on its own (or never started): the next call starts a fresh one. */
  dead: boolean
  /** Its instance's memory as of its last answer (0 before one). */
  memoryBytes: number
  /** With host functions: the end of the current call's (or the start's) time, on `clock`. */
  deadline: number
  clock: Clock.Clock
  /** Releases the host's end of its worker's host function channel. */
  closeChannel: (() => void) | undefined
}

type Ready = Extract<FromWorker, { _tag: "Ready" }>

/** The error of a failed start, as a call's answer. */
const failed = (error: Trapped | OutOfFuel | Timeout): Answer => ({
  result: { _tag: "Err", error, fuelUsed: undefined },
  logs: []
})

/** A pool of `size` worker threads, each with its own instance; a call waits for a free one. */
export const workers = (
  spec: ExecutorSpec,
  size: number,
  timeoutMs: number,
  /** Sees every thread as it is created (tests use it to make one exit). */
  onThread?: (thread: WorkerThreads.Worker) => void
): Effect.Effect<Executor, PluginLoadError, Scope.Scope> =>
  Effect.gen(function*() {
    const threads = new Map<number, WorkerThreads.Worker>()
    let nextWorker = 0
    let nextCall = 0
    let spawned = 0
    const layer = NodeWorker.layer((id) => {
      const thread = new WorkerThreads.Worker(workerUrl)
      threads.set(id, thread)
      onThread?.(thread)
      return thread
    })
    const platform = yield* Worker.WorkerPlatform.pipe(Effect.provide(layer))
    const spawner = yield* Worker.Spawner.pipe(Effect.provide(layer))
    let version: number | undefined
    const functions = spec.functions
    const hostFunctions = functions === undefined ? [] : [...functions.keys()]
    const startClock = yield* Clock.Clock
    const runHostFunction = (name: string, input: string) => functions!.get(name)!(input)

    /** The worker of `slot` exited: every call in flight fails with `Trapped` on its own hook. */
    const workerDied = (
      slot: Slot,
      id: number,
      ready: Deferred.Deferred<Ready, Trapped>,
      instantiating: Deferred.Deferred<void, Trapped>
    ) =>
    (cause: Cause.Cause<unknown>) =>
      Effect.sync(() => {
        const detail = `worker exited: ${errorMessage(Cause.squash(cause))}`
        const died = Exit.fail(new Trapped({ plugin: spec.plugin, hook: "(start)", kind: "other", detail }))
        Deferred.doneUnsafe(ready, died)
        Deferred.doneUnsafe(instantiating, died)
        // A worker this slot already replaced (stopped after a timeout) says nothing about the current one.
        if (slot.id !== id) return
        slot.dead = true
        for (const [, { deferred, hook }] of slot.pending) {
          Deferred.doneUnsafe(
            deferred,
            Exit.succeed(failed(new Trapped({ plugin: spec.plugin, hook, kind: "other", detail })))
          )
        }
        slot.pending.clear()
      })

    /** Starts a worker for `slot` and waits, at most `timeoutMs`, for its instance to be ready. */
    const start = (slot: Slot): Effect.Effect<void, Trapped | OutOfFuel | Timeout> =>
      Effect.gen(function*() {
        const id = ++nextWorker
        const scope = yield* Scope.make()
        const worker = yield* platform.spawn<FromWorker, ToWorker>(id).pipe(
          Effect.provideService(Worker.Spawner, spawner),
          Effect.orDie
        )
        slot.worker = worker
        slot.scope = scope
        slot.id = id
        slot.dead = false
        slot.memoryBytes = 0
        spawned++
        // A channel per worker: one that a stopped worker still holds is never written again. A host call is
        // answered only for the worker now in the slot, within the call's time.
        const channel = functions === undefined ? undefined : HostChannel.open(
          spec.limits.maxPayloadBytes,
          runHostFunction,
          () => slot.id === id && slot.clock.currentTimeMillisUnsafe() <= slot.deadline
        )
        slot.closeChannel = channel?.close
        const ready = Deferred.makeUnsafe<Ready, Trapped>()
        const instantiating = Deferred.makeUnsafe<void, Trapped>()
        yield* Effect.forkIn(
          worker.run((message) =>
            Effect.sync(() => {
              if (message._tag === "Instantiating") {
                // The start function (or gn_abi_version) may call host functions, within the start's time.
                slot.clock = startClock
                slot.deadline = startClock.currentTimeMillisUnsafe() + timeoutMs
                return Deferred.doneUnsafe(instantiating, Exit.void)
              }
              if (message._tag === "Ready") return Deferred.doneUnsafe(ready, Exit.succeed(message))
              const entry = slot.pending.get(message.id)
              if (entry === undefined) return
              slot.pending.delete(message.id)
              slot.memoryBytes = message.memoryBytes
              Deferred.doneUnsafe(
                entry.deferred,
                Exit.succeed({ result: decodeResult(message.result), logs: message.logs })
              )
            })
          ).pipe(Effect.catchCause(workerDied(slot, id, ready, instantiating))),
          scope
        )
        yield* worker.send({
          _tag: "Init",
          plugin: spec.plugin,
          module: spec.module,
          limits: spec.limits,
          hostFunctions,
          channel: channel?.worker
        }, channel === undefined ? undefined : [channel.worker.port]).pipe(
          Effect.catchCause(workerDied(slot, id, ready, instantiating))
        )
        // Instantiation runs the start function: with fuel off, only the clock bounds it. The clock starts when the
        // worker has booted and begins instantiating (booting a thread can take seconds on a loaded machine).
        const booted = yield* Effect.exit(Deferred.await(instantiating))
        if (Exit.isFailure(booted)) return yield* Deferred.await(ready)
        const answer = yield* Effect.timeoutOption(Deferred.await(ready), timeoutMs)
        if (answer._tag === "None") {
          yield* stop(slot)
          slot.dead = true
          return yield* new Timeout({ plugin: spec.plugin, hook: "(start)", timeoutMs })
        }
        if (answer.value.trap !== undefined) {
          yield* stop(slot)
          slot.dead = true
          return yield* (decodeError(answer.value.trap) as Trapped | OutOfFuel)
        }
        version = answer.value.version
      })

    const stop = (slot: Slot): Effect.Effect<void> =>
      Effect.suspend(() => {
        // Terminate first: a worker stuck in a guest loop never reads the close message.
        const thread = threads.get(slot.id)
        threads.delete(slot.id)
        if (thread !== undefined) void thread.terminate()
        slot.closeChannel?.()
        slot.closeChannel = undefined
        return Scope.close(slot.scope, Exit.void)
      })

    /** Replaces the worker of `slot` with a fresh one. */
    const restart = (slot: Slot) => Effect.andThen(stop(slot), start(slot))

    const slots: Array<Slot> = []
    const free = yield* Queue.unbounded<Slot>()
    yield* Effect.addFinalizer(() => Effect.forEach(slots, stop, { discard: true }))
    for (let i = 0; i < size; i++) {
      const slot = {
        pending: new Map(),
        dead: false,
        memoryBytes: 0,
        deadline: 0,
        clock: startClock,
        closeChannel: undefined
      } as unknown as Slot
      slots.push(slot)
      yield* start(slot)
      yield* Queue.offer(free, slot)
    }

    const callOn = (
      slot: Slot,
      hook: string,
      payload: string,
      clock: Clock.Clock,
      now: number
    ): Effect.Effect<Answer> =>
      Effect.gen(function*() {
        // A worker that exited (or failed to start again) is replaced before the call.
        if (slot.dead) {
          const restarted = yield* Effect.result(restart(slot))
          if (restarted._tag === "Failure") return failed(restarted.failure)
        }
        const id = ++nextCall
        const deferred = Deferred.makeUnsafe<Answer>()
        if (functions !== undefined) {
          slot.clock = clock
          slot.deadline = clock.currentTimeMillisUnsafe() + timeoutMs
        }
        slot.pending.set(id, { hook, deferred })
        yield* slot.worker.send({ _tag: "Call", id, hook, payload, now }).pipe(
          Effect.catchCause((cause) =>
            Effect.sync(() => {
              slot.dead = true
              slot.pending.delete(id)
              Deferred.doneUnsafe(
                deferred,
                Exit.succeed(
                  failed(
                    new Trapped({
                      plugin: spec.plugin,
                      hook,
                      kind: "other",
                      detail: `worker unreachable: ${errorMessage(Cause.squash(cause))}`
                    })
                  )
                )
              )
            })
          )
        )
        const answer = yield* Effect.timeoutOption(Deferred.await(deferred), timeoutMs)
        if (answer._tag === "Some") {
          if (slot.dead) yield* restart(slot).pipe(Effect.ignore)
          return answer.value
        }
        slot.pending.delete(id)
        yield* restart(slot).pipe(Effect.ignore)
        return failed(new Timeout({ plugin: spec.plugin, hook, timeoutMs }))
      })

    const executor: Executor = {
      version,
      call: (hook, payload) =>
        Effect.withFiber((fiber) => {
          const clock = Context.get(fiber.context, Clock.Clock)
          const now = clock.currentTimeMillisUnsafe()
          // Waiting for a free worker is interruptible (the waiter leaves the queue); a call in flight is not, and is
          // bounded by the timeout.
          return Effect.acquireUseRelease(
            Queue.take(free),
            (slot) => Effect.uninterruptible(callOn(slot, hook, payload, clock, now)),
            (slot) => Queue.offer(free, slot)
          )
        }),
      instances: () => spawned,
      memoryBytes: () => slots.reduce((n, slot) => Math.max(n, slot.memoryBytes), 0),
      close: Effect.forEach(slots, stop, { discard: true })
    }
    return executor
  })
