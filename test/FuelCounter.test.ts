/**
 * The fuel counter lives in a local inside each function (loaded on entry and after calls, stored before calls,
 * returns and fuel traps), except in modules that use exceptions, which keep it in the global throughout. Both
 * must charge exactly the same: same fuel used, same budget at which a call runs out, host charges seen.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import wabtInit from "wabt"
import * as Fuel from "../src/wasm/Fuel.ts"

const work = `
  (import "env" "charge" (func $charge (param i32)))
  (memory 1)
  (func $leaf (param $x i32) (result i32)
    (if (i32.eqz (local.get $x)) (then (return (i32.const 7))))
    (i32.add (local.get $x) (i32.const 1)))
  (func $pair (param $x i32) (result i32 i32) (local.get $x) (i32.const 2))
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $out
      (loop $l
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (call $leaf (local.get $i))))
        (if (i32.eq (i32.rem_u (local.get $i) (i32.const 5)) (i32.const 3)) (then (call $charge (i32.const 11))))
        (drop (call $pair (local.get $i)))
        (drop)
        (memory.fill (i32.const 0) (i32.const 1) (i32.mul (local.get $i) (i32.const 8)))
        ;; a branch straight out of the function, from inside nested blocks
        (if (i32.eq (local.get $i) (i32.const 150)) (then (block (br 3))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $acc))
`

/** The same module, plus a function with exception handling that never runs. */
const withExceptions = work + `(tag $t) (func $unused (try (do nop) (catch_all)))`

const compile = async (body: string): Promise<Uint8Array> => {
  const wabt = await wabtInit()
  const module = wabt.parseWat("fuel.wat", `(module ${body})`, {
    bulk_memory: true,
    multi_value: true,
    exceptions: true
  })
  try {
    module.validate()
    return new Uint8Array(module.toBinary({}).buffer)
  } finally {
    module.destroy()
  }
}

interface Outcome {
  readonly used: number
  readonly outOfFuel: boolean
}

/** How many of the units the guest asks for the host takes (0 or 1). */
const host = { scale: 1 }

const instantiate = async (bytes: Uint8Array) => {
  const module = await WebAssembly.compile(await Fuel.instrument(bytes))
  const meter = new Fuel.Meter()
  const instance = new WebAssembly.Instance(module, {
    env: { charge: (units: number) => meter.charge(units * host.scale) },
    ...meter.imports
  })
  const run = instance.exports.run as (n: number) => number
  return (n: number, budget: number): Outcome => {
    meter.reset(budget)
    try {
      run(n)
      return { used: meter.used(budget), outOfFuel: false }
    } catch {
      return { used: meter.used(budget), outOfFuel: meter.exhausted }
    }
  }
}

describe("fuel counter in a local", () => {
  it.effect("charges exactly what the global counter charges, and runs out at the same budget", () =>
    Effect.promise(async () => {
      const local = await instantiate(await compile(work))
      const global = await instantiate(await compile(withExceptions))
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 200 }), async (n) => {
          const a = local(n, 10_000_000)
          const b = global(n, 10_000_000)
          assert.deepStrictEqual(a, b, `n = ${n}`)
          assert.isFalse(a.outOfFuel)
          assert.isTrue(a.used > 0)
          // One unit short of what it needs: out of fuel, in both; exactly enough: done, in both.
          assert.deepStrictEqual(local(n, a.used - 1).outOfFuel, true)
          assert.deepStrictEqual(global(n, a.used - 1).outOfFuel, true)
          assert.deepStrictEqual(local(n, a.used), { used: a.used, outOfFuel: false })
        }),
        { numRuns: 60 }
      )
    }))

  it.effect("host charges made during an import call count against the budget, in both", () =>
    Effect.promise(async () => {
      for (const body of [work, withExceptions]) {
        const run = await instantiate(await compile(body))
        host.scale = 0
        const free = run(14, 10_000_000).used
        host.scale = 1
        // Iterations 3, 8 and 13 call the host, which takes 11 units each time.
        assert.strictEqual(run(14, 10_000_000).used - free, 33)
      }
    }))
})
