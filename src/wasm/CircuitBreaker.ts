/**
 * A per-plugin circuit breaker: after `maxFailures` traps, timeouts or fuel exhaustions within `window`, the plugin
 * is suspended for `coolDown`; then a single trial call decides between closing the breaker and another cool-down.
 * Pure bookkeeping over times the caller reads from Effect's Clock.
 *
 * @since 0.1.0
 */

/** Breaker settings (all in milliseconds here). */
export interface BreakerSettings {
  readonly maxFailures: number
  readonly windowMs: number
  readonly coolDownMs: number
}

export const defaults: BreakerSettings = { maxFailures: 5, windowMs: 60_000, coolDownMs: 30_000 }

/** The breaker's state, as `Plugin.status` shows it. */
export type BreakerState = "closed" | "open" | "half_open"

/** What a call may do. */
export type Admission =
  | { readonly _tag: "Allow" }
  | { readonly _tag: "Trial" }
  | { readonly _tag: "Reject"; readonly until: number }

const allow: Admission = { _tag: "Allow" }
const trial: Admission = { _tag: "Trial" }

export class CircuitBreaker {
  state: BreakerState = "closed"
  /** When the current cool-down ends (open state). */
  openUntil = 0
  /** Times of recent counted failures, oldest first. */
  private failures: Array<number> = []
  private trialInFlight = false
  /** How many times the breaker opened. */
  opened = 0
  private readonly settings: BreakerSettings

  constructor(settings: BreakerSettings) {
    this.settings = settings
  }

  /** Recent counted failures within the window. */
  recentFailures(now: number): number {
    this.prune(now)
    return this.failures.length
  }

  /** The state as of `now`: an open breaker whose cool-down has ended is half-open. */
  stateAt(now: number): BreakerState {
    return this.state === "open" && now >= this.openUntil ? "half_open" : this.state
  }

  admit(now: number): Admission {
    if (this.state === "closed") return allow
    this.state = this.stateAt(now)
    if (this.state === "half_open" && !this.trialInFlight) {
      this.trialInFlight = true
      return trial
    }
    return { _tag: "Reject", until: this.openUntil }
  }

  /** Records a call's outcome; returns true when this outcome opened the breaker. */
  record(now: number, admission: Admission, counted: boolean): boolean {
    if (admission._tag === "Trial") {
      this.trialInFlight = false
      if (counted) return this.open(now)
      this.state = "closed"
      this.failures = []
      return false
    }
    if (!counted || this.state !== "closed") return false
    this.prune(now)
    this.failures.push(now)
    return this.failures.length >= this.settings.maxFailures ? this.open(now) : false
  }

  /** A trial call that was interrupted before it finished lets the next call try instead. */
  abandon(admission: Admission): void {
    if (admission._tag === "Trial") this.trialInFlight = false
  }

  private open(now: number): true {
    this.state = "open"
    this.openUntil = now + this.settings.coolDownMs
    this.failures = []
    this.opened++
    return true
  }

  private prune(now: number): void {
    const horizon = now - this.settings.windowMs
    while (this.failures.length > 0 && this.failures[0] <= horizon) this.failures.shift()
  }
}
