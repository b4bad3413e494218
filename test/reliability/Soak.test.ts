/**
 * Soak, shutdown and concurrency, scaled down for the normal test run (`npm run soak` runs the full sizes).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { addRemoveCycles, asyncFlood, concurrentChurn, shutdownWithInFlight } from "./soak.ts"

describe("soak (scaled down)", () => {
  it.live(
    "50,000 add/remove cycles: heap growth under 5 MB after GC, nothing leaked",
    () => Effect.map(addRemoveCycles(50_000), (r) => assert.isBelow(r.growthBytes, 5 * 1024 * 1024)),
    120_000
  )

  it.live(
    "10,000 async actions then awaitIdle: every run happened, zero in flight",
    () => Effect.map(asyncFlood(10_000), (r) => assert.deepStrictEqual([r.runs, r.inFlight], [10_000, 0])),
    120_000
  )

  it.live(
    "closing the bus with 200 async handlers in flight settles every one within the grace period",
    () =>
      Effect.map(shutdownWithInFlight(200, 200), (r) => {
        assert.strictEqual(r.completed + r.interrupted, 200)
        assert.strictEqual(r.completed, 100)
        assert.isBelow(r.closeMs, 2_000)
      }),
    60_000
  )
})

describe("concurrency", () => {
  it.live(
    "64 fibers dispatching while others add, remove and reload a plugin, 2,000 operations",
    () =>
      Effect.map(concurrentChurn(64, 2_000), (r) => {
        assert.strictEqual(r.violations, 0)
        assert.isAbove(r.dispatched, 1_000)
        assert.isAbove(r.reloads, 0)
      }),
    120_000
  )
})
