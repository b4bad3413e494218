/**
 * Worker mode: each pool slot is a worker thread (through `@effect/platform-node`'s `NodeWorker` and
 * `effect/workers`) running one instance of the compiled module, which is shared with the worker, not recompiled.
 * A call that overruns `timeoutMs` terminates its worker, fails with `Timeout`, and a fresh worker takes the slot;
 * the other slots are not disturbed.
 *
 * @since 0.1.0
 */
import { NodeWorker } from "@effect/platform-node"
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
import { PluginCallError, type PluginLoadError, Timeout, Trapped } from "../domain/PluginErrors.ts"
import type { Answer, Executor, ExecutorSpec } from "./Executor.ts"
import type { CallResult } from "./Guest.ts"
import type { EncodedResult, FromWorker, ToWorker } from "./worker/protocol.ts"

const workerUrl = new URL("./worker/guestWorker.ts", import.meta.url)
const decodeError = Schema.decodeUnknownSync(PluginCallError)

const decodeResult = (result: EncodedResult): CallResult =>
  result._tag === "Ok" ? result : { _tag: "Err", error: decodeError(result.error), fuelUsed: result.fuelUsed }

interface Slot {
  worker: Worker.Worker<FromWorker, ToWorker>
  /** The id its thread is registered under (the thread is created when the worker starts running). */
  id: number
  scope: Scope.Closeable
  readonly pending: Map<number, Deferred.Deferred<Answer>>
}

/** A pool of `size` worker threads, each with its own instance; a call waits for a free one. */
export const workers = (
  spec: ExecutorSpec,
  size: number,
  timeoutMs: number
): Effect.Effect<Executor, PluginLoadError, Scope.Scope> =>
  Effect.gen(function*() {
    const threads = new Map<number, WorkerThreads.Worker>()
    let nextWorker = 0
    let nextCall = 0
    let spawned = 0
    const layer = NodeWorker.layer((id) => {
      const thread = new WorkerThreads.Worker(workerUrl)
      threads.set(id, thread)
      return thread
    })
    const platform = yield* Worker.WorkerPlatform.pipe(Effect.provide(layer))
    const spawner = yield* Worker.Spawner.pipe(Effect.provide(layer))
    let version: number | undefined

    const workerDied = (slot: Slot) => (cause: unknown) =>
      Effect.sync(() => {
        for (const [, deferred] of slot.pending) {
          Deferred.doneUnsafe(
            deferred,
            Exit.succeed({
              result: {
                _tag: "Err",
                error: new Trapped({
                  plugin: spec.plugin,
                  hook: "(worker)",
                  kind: "other",
                  detail: `worker exited: ${String(cause)}`
                }),
                fuelUsed: undefined
              },
              logs: []
            })
          )
        }
        slot.pending.clear()
      })

    /** Starts a worker for `slot` and waits for its instance to be ready. */
    const start = (slot: Slot): Effect.Effect<void, PluginLoadError> =>
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
        spawned++
        const ready = Deferred.makeUnsafe<Extract<FromWorker, { _tag: "Ready" }>>()
        yield* Effect.forkIn(
          worker.run((message) =>
            Effect.sync(() => {
              if (message._tag === "Ready") return Deferred.doneUnsafe(ready, Exit.succeed(message))
              const deferred = slot.pending.get(message.id)
              if (deferred === undefined) return
              slot.pending.delete(message.id)
              Deferred.doneUnsafe(deferred, Exit.succeed({ result: decodeResult(message.result), logs: message.logs }))
            })
          ).pipe(Effect.catchCause((cause) => workerDied(slot)(cause))),
          scope
        )
        yield* worker.send({ _tag: "Init", plugin: spec.plugin, module: spec.module, limits: spec.limits }).pipe(
          Effect.orDie
        )
        const answer = yield* Deferred.await(ready)
        if (answer.trap !== undefined) return yield* decodeError(answer.trap) as Trapped
        version = answer.version
      })

    const stop = (slot: Slot): Effect.Effect<void> =>
      Effect.suspend(() => {
        // Terminate first: a worker stuck in a guest loop never reads the close message.
        const thread = threads.get(slot.id)
        threads.delete(slot.id)
        if (thread !== undefined) void thread.terminate()
        return Scope.close(slot.scope, Exit.void)
      })

    const slots: Array<Slot> = []
    const free = yield* Queue.unbounded<Slot>()
    yield* Effect.addFinalizer(() => Effect.forEach(slots, stop, { discard: true }))
    for (let i = 0; i < size; i++) {
      const slot = { pending: new Map() } as unknown as Slot
      slots.push(slot)
      yield* start(slot)
      yield* Queue.offer(free, slot)
    }

    const callOn = (slot: Slot, hook: string, payload: string, now: number): Effect.Effect<Answer> =>
      Effect.gen(function*() {
        const id = ++nextCall
        const deferred = Deferred.makeUnsafe<Answer>()
        slot.pending.set(id, deferred)
        yield* slot.worker.send({ _tag: "Call", id, hook, payload, now }).pipe(
          Effect.catchCause((cause) => workerDied(slot)(cause))
        )
        const answer = yield* Effect.timeoutOption(Deferred.await(deferred), timeoutMs)
        if (answer._tag === "Some") return answer.value
        slot.pending.delete(id)
        yield* stop(slot)
        yield* start(slot).pipe(Effect.ignore)
        return {
          result: { _tag: "Err", error: new Timeout({ plugin: spec.plugin, hook, timeoutMs }), fuelUsed: undefined },
          logs: []
        }
      })

    const executor: Executor = {
      version,
      call: (hook, payload) =>
        Effect.withFiber((fiber) => {
          const now = Context.get(fiber.context, Clock.Clock).currentTimeMillisUnsafe()
          // Waiting for a free worker is interruptible (the waiter leaves the queue); a call in flight is not, and is
          // bounded by the timeout.
          return Effect.acquireUseRelease(
            Queue.take(free),
            (slot) => Effect.uninterruptible(callOn(slot, hook, payload, now)),
            (slot) => Queue.offer(free, slot)
          )
        }),
      instances: () => spawned,
      close: Effect.forEach(slots, stop, { discard: true })
    }
    return executor
  })
