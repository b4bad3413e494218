/**
 * Model-based test: random command sequences run against the real bus and against a plain reference model; every
 * observable must agree. Seeded and reproducible: set HOOKBUS_SEED to replay; fast-check prints the seed and path of
 * a failure.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import { command, runModel, runReal } from "./model.ts"

export const runs = Number(process.env.HOOKBUS_MODEL_RUNS ?? 10_000)
const seed = Number(process.env.HOOKBUS_SEED ?? 20_261_126)

describe("model-based: the bus agrees with a reference model", () => {
  it(`${runs.toLocaleString("en")} random command sequences (seed ${seed})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 24 }), async (commands) => {
        const model = runModel(commands)
        const real = await Effect.runPromise(runReal(commands, model.safe))
        assert.deepStrictEqual(real, model.observations)
      }),
      { numRuns: runs, seed }
    )
  }, 600_000)
})
