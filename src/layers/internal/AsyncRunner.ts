/**
 * Runs async handlers in fibers owned by the bus: bounded in number, optionally serialised per key, drained with a
 * grace period when the bus closes.
 *
 * Accepted jobs wait in one batch, started by one scheduler task at the point where a fiber forked for each would
 * have started, in the order they were accepted. A job that finishes on the spot (its handler returned a completed
 * Effect or an `Effect.sync`) costs no fiber; the rest get a fiber each, started at once, so none waits for another.
 *
 * Everything here is synchronous bookkeeping between fiber steps, so a key queue is emptied and dropped in one step:
 * an event for a key that is going idle either joins the running queue or starts a new one, never neither (the race
 * in which the Go bus loses jobs).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Scheduler from "effect/Scheduler"

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

/**
 * An accepted handler run. Starting it calls the handler and returns what must still run in a fiber (in the
 * caller's context), or `undefined` when it finished on the spot. It never throws.
 */
export type Job = () => Effect.Effect<void> | undefined

/** Forks an effect into the bus's FiberSet (from `FiberSet.runtime`): interrupted when the bus closes. */
export type RunFork = (effect: Effect.Effect<void>) => Fiber.Fiber<void, never>

/** A batch entry that starts the queue of a key. */
class QueueStart {
  readonly key: string
  constructor(key: string) {
    this.key = key
  }
}

export class AsyncRunner {
  /** Jobs accepted and not yet finished, queued ones included. */
  inFlight = 0
  private closing = false
  /** Past the shutdown grace: jobs not yet started never start. */
  private stopped = false
  private batch: Array<Job | QueueStart> = []
  private scheduled = false
  private readonly slotWaiters: Array<() => void> = []
  private readonly idleWaiters: Array<() => void> = []
  private readonly queues = new Map<string, Array<Job>>()
  private readonly runFork: RunFork
  private readonly options: AsyncRunnerOptions

  constructor(runFork: RunFork, options: AsyncRunnerOptions) {
    this.runFork = runFork
    this.options = options
  }

  /**
   * Accepts a job when a slot is free and the bus is open (true), to start from the next task of `dispatcher`;
   * false leaves the decision (wait, drop) to `submit`. Synchronous, so a dispatch accepts its async handlers
   * without a fiber step each.
   */
  trySubmit(job: Job, key: string | undefined, dispatcher: Scheduler.SchedulerDispatcher): boolean {
    if (this.closing || this.inFlight >= this.options.concurrency) return false
    this.acquire()
    if (key === undefined) this.enqueue(job, dispatcher)
    else {
      const queue = this.queues.get(key)
      if (queue !== undefined) queue.push(job)
      else {
        this.queues.set(key, [job])
        this.enqueue(new QueueStart(key), dispatcher)
      }
    }
    return true
  }

  /**
   * Accepts a job: waits for a slot or drops it when the bound is reached, then starts it (or queues it behind the
   * running job of the same key). Returns without waiting for the job.
   */
  submit(job: Job, hook: string, source: string, key: string | undefined): Effect.Effect<void> {
    return Effect.withFiber((fiber) => {
      if (this.trySubmit(job, key, fiber.currentDispatcher)) return Effect.void
      if (this.closing) return this.options.onDrop("closing", hook, source)
      if (this.options.overflow === "drop") return this.options.onDrop("overflow", hook, source)
      return Effect.andThen(this.waitForSlot, this.submit(job, hook, source, key))
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
    }).pipe(Effect.ensuring(Effect.sync(() => {
      this.stopped = true
    })))
  }

  private enqueue(item: Job | QueueStart, dispatcher: Scheduler.SchedulerDispatcher): void {
    this.batch.push(item)
    if (this.scheduled) return
    this.scheduled = true
    dispatcher.scheduleTask(this.flush, 0)
  }

  /** Starts the batch: jobs that finish on the spot are settled, the rest forked. */
  private readonly flush = (): void => {
    this.scheduled = false
    const batch = this.batch
    this.batch = []
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i]
      if (item instanceof QueueStart) {
        if (this.stopped) this.dropQueue(item.key)
        else this.runFork(this.drain(item.key))
        continue
      }
      const rest = this.stopped ? undefined : start(item)
      if (rest === undefined) this.releaseUnsafe()
      else this.runFork(Effect.ensuring(rest, this.release))
    }
  }

  /** Runs a key's jobs one after another; the queue keeps its running job at its head. */
  private drain(key: string): Effect.Effect<void> {
    const step: Effect.Effect<void> = Effect.suspend(() => {
      const queue = this.queues.get(key)!
      return Effect.flatMap(Effect.suspend(() => queue[0]() ?? Effect.void), () => {
        queue.shift()
        this.releaseUnsafe()
        if (queue.length > 0) return step
        this.queues.delete(key)
        return Effect.void
      })
    })
    // Interrupted (the bus is closing): every job still queued is settled as not run.
    return Effect.onInterrupt(step, () => Effect.sync(() => this.dropQueue(key)))
  }

  /** Settles every job still queued for `key` as not run. */
  private dropQueue(key: string): void {
    const queue = this.queues.get(key)
    this.queues.delete(key)
    if (queue !== undefined) { for (let i = 0; i < queue.length; i++) this.releaseUnsafe() }
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

/** Starts a job; one that breaks its promise not to throw (a user tracer that throws) is logged, not lost. */
const start = (job: Job): Effect.Effect<void> | undefined => {
  try {
    return job()
  } catch (error) {
    return Effect.logError("async handler could not start", Cause.die(error))
  }
}

const remove = <A>(array: Array<A>, item: A): boolean => {
  const i = array.indexOf(item)
  if (i >= 0) array.splice(i, 1)
  return i >= 0
}
