/**
 * `npm run soak`: the soak, shutdown and concurrency workloads at full size. Exits non-zero when a property does
 * not hold.
 */
import { Effect } from "effect"
import { addRemoveCycles, asyncFlood, concurrentChurn, shutdownWithInFlight } from "../test/reliability/soak.ts"
import { buildAll } from "./build-plugins.ts"

await buildAll()
const t0 = performance.now()
const cycles = await Effect.runPromise(addRemoveCycles(1_000_000))
console.log(
  `add/remove cycles: ${cycles.cycles.toLocaleString("en")}, heap growth after GC ${
    (cycles.growthBytes / 1024).toFixed(0)
  } KiB (bound 5 MiB)`
)
const flood = await Effect.runPromise(asyncFlood(100_000))
console.log(
  `async actions: ${flood.actions.toLocaleString("en")}, runs ${
    flood.runs.toLocaleString("en")
  }, in flight after awaitIdle ${flood.inFlight}`
)
const shutdown = await Effect.runPromise(shutdownWithInFlight(1_000, 500))
console.log(
  `shutdown with ${shutdown.inFlight} in flight: ${shutdown.completed} completed within the 500 ms grace, ${shutdown.interrupted} interrupted, 0 orphaned; close took ${shutdown.closeMs} ms`
)
const churn = await Effect.runPromise(concurrentChurn(64, 10_000))
console.log(
  `concurrency: ${churn.operations.toLocaleString("en")} operations (${
    churn.dispatched.toLocaleString("en")
  } dispatches from 64 fibers, ${churn.transientHandlers} handlers added and removed, ${churn.reloads} plugin reloads): ${churn.violations} lost or duplicated runs`
)
console.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
process.exit(0)
