/**
 * Runs async handlers in fibers owned by the bus: bounded in number, optionally serialised per key, drained with a
 * grace period when the bus closes.
 *
 * Everything here is synchronous bookkeeping between fiber steps, so a key queue is emptied and dropped in one step:
 * an event for a key that is going idle either joins the running queue or starts a new one, never neither (the race
 * in which the Go bus loses jobs).
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"

/** Why a job did not run. */
export type DropReason = "overflow" | "closing"

export interface AsyncRunnerOptions {
  readonly concurrency: number
  readonly overflow: "wait" | "drop"
  /** Called (inside the dispatching fiber) when a job is dropped. */
  readonly onDrop: (reason: DropReason, hook: string, source: string) => Effect.Effect<void>
  /** Called whenever the number of jobs in flight changes. */
  readonly onInFlight: (inFlight: number) => void
}

export class AsyncRunner {
  /** Jobs accepted and not yet finished, queued ones included. */
  inFlight = 0
  private closing = false
  private readonly slotWaiters: Array<() => void> = []
  private readonly idleWaiters: Array<() => void> = []
  private readonly queues = new Map<string, Array<Effect.Effect<void>>>()
  private readonly fibers: FiberSet.FiberSet<void, never>
  private readonly options: AsyncRunnerOptions

  constructor(fibers: FiberSet.FiberSet<void, never>, options: AsyncRunnerOptions) {
    this.fibers = fibers
    this.options = options
  }

  /**
   * Accepts a job: waits for a slot or drops it when the bound is reached, then starts it (or queues it behind the
   * running job of the same key). Returns without waiting for the job.
   */
  submit(job: Effect.Effect<void>, hook: string, source: string, key: string | undefined): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.closing) return this.options.onDrop("closing", hook, source)
      if (this.inFlight >= this.options.concurrency) {
        if (this.options.overflow === "drop") return this.options.onDrop("overflow", hook, source)
        return Effect.andThen(this.waitForSlot, this.submit(job, hook, source, key))
      }
      this.acquire()
      if (key === undefined) return this.fork(Effect.ensuring(job, this.release))
      const queue = this.queues.get(key)
      if (queue !== undefined) {
        queue.push(job)
        return Effect.void
      }
      this.queues.set(key, [job])
      return this.fork(this.drain(key))
    })
  }

  /** Completes when nothing is in flight. */
  readonly awaitIdle: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (this.inFlight === 0) return resume(Effect.void)
    const waiter = () => resume(Effect.void)
    this.idleWaiters.push(waiter)
    return Effect.sync(() => remove(this.idleWaiters, waiter))
  })

  /** Refuses new jobs, then gives the running ones `grace` to finish; the FiberSet's finalizer interrupts the rest. */
  shutdown(grace: Duration.Duration): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.closing = true
      return Effect.asVoid(Effect.timeoutOption(this.awaitIdle, grace))
    })
  }

  private fork(effect: Effect.Effect<void>): Effect.Effect<void> {
    return Effect.asVoid(FiberSet.run(this.fibers, effect, { startImmediately: false }))
  }

  /** Runs a key's jobs one after another; the queue keeps its running job at its head. */
  private drain(key: string): Effect.Effect<void> {
    const step: Effect.Effect<void> = Effect.suspend(() => {
      const queue = this.queues.get(key)!
      return Effect.flatMap(queue[0], () => {
        queue.shift()
        this.releaseUnsafe()
        if (queue.length > 0) return step
        this.queues.delete(key)
        return Effect.void
      })
    })
    // Interrupted (the bus is closing): every job still queued is settled as not run.
    return Effect.onInterrupt(step, () =>
      Effect.sync(() => {
        const queue = this.queues.get(key)
        this.queues.delete(key)
        if (queue !== undefined) { for (let i = 0; i < queue.length; i++) this.releaseUnsafe() }
      }))
  }

  private readonly waitForSlot: Effect.Effect<void> = Effect.callback<void>((resume) => {
    const waiter = () => resume(Effect.void)
    this.slotWaiters.push(waiter)
    // Interrupted after being woken: hand the wake-up on, so the free slot is not lost.
    return Effect.sync(() => remove(this.slotWaiters, waiter) || this.slotWaiters.shift()?.())
  })

  private acquire(): void {
    this.inFlight++
    this.options.onInFlight(this.inFlight)
  }

  private releaseUnsafe(): void {
    this.inFlight--
    this.options.onInFlight(this.inFlight)
    this.slotWaiters.shift()?.()
    if (this.inFlight === 0) {
      const waiters = this.idleWaiters.splice(0)
      for (const waiter of waiters) waiter()
    }
  }

  private readonly release: Effect.Effect<void> = Effect.sync(() => this.releaseUnsafe())
}

const remove = <A>(array: Array<A>, item: A): boolean => {
  const i = array.indexOf(item)
  if (i >= 0) array.splice(i, 1)
  return i >= 0
}
