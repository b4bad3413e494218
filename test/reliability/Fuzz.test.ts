/**
 * ABI fuzzing in the normal test run (a few thousand cases; `npm run fuzz` runs 100,000 and more): every case ends
 * in a typed error or the correct value, never a defect, a hang or a crash.
 */
import { assert, describe, it } from "@effect/vitest"
import { fuzzManifests, fuzzModules, fuzzResults } from "./fuzz.ts"

const seed = Number(process.env.HOOKBUS_SEED ?? 20_261_126)

describe("ABI fuzzing", () => {
  it("random packed results and bodies decode exactly as the contract says", async () => {
    assert.strictEqual(await fuzzResults(3_000, seed), 3_000)
  }, 120_000)

  it("random manifests decode or fail with ManifestInvalid listing problems", () => {
    assert.strictEqual(fuzzManifests(2_000, seed), 2_000)
  }, 120_000)

  it("random and mutated modules load or fail with a typed error, never a defect", async () => {
    assert.strictEqual(await fuzzModules(300, seed), 300)
  }, 300_000)
})
