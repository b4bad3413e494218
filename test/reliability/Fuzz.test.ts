/**
 * ABI fuzzing in the normal test run (a few thousand cases; `npm run fuzz` runs 100,000 and more): every case ends
 * in a typed error or the correct value, never a defect, a hang or a crash. The second block keeps the sandbox
 * rules of issue 13 fixed over random inputs: limits, hook names, registration options, policy, reload, nested
 * errors and forged Effect values.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Fuzz from "./fuzz.ts"

const seed = Number(process.env.HOOKBUS_SEED ?? 20_261_126)

describe("ABI fuzzing", () => {
  it("random packed results and bodies decode exactly as the contract says", async () => {
    assert.strictEqual(await Fuzz.fuzzResults(3_000, seed), 3_000)
  }, 120_000)

  it("random manifests decode or fail with ManifestInvalid listing problems", () => {
    assert.strictEqual(Fuzz.fuzzManifests(2_000, seed), 2_000)
  }, 120_000)

  it("random and mutated modules load or fail with a typed error, never a defect", async () => {
    assert.strictEqual(await Fuzz.fuzzModules(300, seed), 300)
  }, 300_000)
})

describe("sandbox rules over random inputs (issue 13)", () => {
  it("manifest limits: what is asked at or under the host's ceilings, else LimitAboveCeiling listing each", () => {
    assert.strictEqual(Fuzz.fuzzLimits(2_000, seed), 2_000)
  })

  it("hook names: a forbidden character is refused everywhere, an Object.prototype key is an ordinary name", () => {
    assert.strictEqual(Fuzz.fuzzHookNames(300, seed), 300)
  })

  it("registration options of the wrong type (once: \"yes\", priority 1e400) are RegistrationRejected", () => {
    assert.strictEqual(Fuzz.fuzzOptions(300, seed), 300)
  })

  it("the policy: sources are plugin:<name>, priorities bounded, host sources out of reach", async () => {
    assert.strictEqual(await Fuzz.fuzzPolicy(150, seed), 150)
  }, 120_000)

  it(
    "reload with the same, fewer or more hooks: exactly the manifest's hooks, reaching the newest version",
    async () => {
      assert.strictEqual(await Fuzz.fuzzReload(40, seed), 40)
    },
    120_000
  )

  it("a nested dispatch error at any depth: one read of the innermost message, bounded length", async () => {
    assert.strictEqual(await Fuzz.fuzzNestedErrors(100, seed), 100)
  }, 120_000)

  it("a handler returning a forged ~effect/Exit or ~effect/Effect object is a typed handler defect", () => {
    assert.strictEqual(Fuzz.fuzzForgedEffects(300, seed), 300)
  })
})
