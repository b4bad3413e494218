/**
 * Fuel: a deterministic CPU bound on the same thread. A plugin module is instrumented with binaryen so that every
 * function entry, function exit and loop iteration takes one unit from a budget the host sets before each call;
 * at zero the guest calls an import that unwinds it, and the call fails with `OutOfFuel`. Each unit stands for a
 * bounded amount of straight-line work, so a budget bounds a call's CPU time.
 *
 * Instrumentation is cached per module bytes.
 *
 * @since 0.1.0
 */
import type BinaryenModule from "binaryen"
import { createHash } from "node:crypto"
import { type FuelMeter, FuelSignal } from "./Guest.ts"

/** Default budget per call: 50 million units. */
export const defaultBudget = 50_000_000

/** The module the instrumented code imports its exhaustion hook from. */
export const importModule = "hookbus_fuel"

const fuelGlobal = "hookbus_fuel"
const counter = "log_execution"

type Binaryen = typeof BinaryenModule

// binaryen is large (a 14 MB compiler): loaded on first use, once.
let binaryen: Promise<Binaryen> | undefined
const loadBinaryen = (): Promise<Binaryen> => binaryen ??= import("binaryen").then((m) => m.default)

const cache = new Map<string, Promise<Uint8Array<ArrayBuffer>>>()
const maxCached = 64

/**
 * Returns the module with fuel metering added. Throws (rejects) when binaryen cannot read the module; the caller
 * has already checked it against the ABI.
 */
export const instrument = (bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> => {
  const key = createHash("sha256").update(bytes).digest("hex")
  let result = cache.get(key)
  if (result === undefined) {
    result = instrumentUncached(bytes)
    result.catch(() => cache.delete(key))
    if (cache.size >= maxCached) cache.delete(cache.keys().next().value!)
    cache.set(key, result)
  }
  return result
}

const instrumentUncached = async (bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> => {
  const b = await loadBinaryen()
  // The features plugins use (what Node's engine runs without flags). Not `All`: that makes binaryen write GC-style
  // type sections and compact imports.
  const f = b.Features
  const module = b.readBinary(bytes)
  module.setFeatures(
    f.MutableGlobals | f.NontrappingFPToInt | f.SIMD128 | f.BulkMemory | f.BulkMemoryOpt | f.SignExt | f.Multivalue |
      f.ReferenceTypes | f.TailCall | f.ExtendedConst | f.CallIndirectOverlong
  )
  try {
    // "log-execution" calls an imported env.log_execution at every function entry, exit and loop header. The
    // import is then replaced by a wasm function that takes one unit of fuel, and inlined at every call site.
    module.runPasses(["log-execution"])
    module.removeFunction(counter)
    // The start function and gn_abi_version run on this initial budget; calls get their own.
    module.addGlobal(fuelGlobal, b.i64, true, module.i64.const(BigInt(defaultBudget) as never))
    module.addGlobalExport(fuelGlobal, fuelGlobal)
    module.addFunctionImport("hookbus_fuel_exhausted", importModule, "exhausted", b.none, b.none)
    module.addFunction(
      counter,
      b.createType([b.i32]),
      b.none,
      [],
      module.block(null, [
        module.global.set(
          fuelGlobal,
          module.i64.sub(module.global.get(fuelGlobal, b.i64), module.i64.const(1n as never))
        ),
        module.if(
          module.i64.lt_s(module.global.get(fuelGlobal, b.i64), module.i64.const(0n as never)),
          module.call("hookbus_fuel_exhausted", [], b.none)
        )
      ])
    )
    const previous = b.getAlwaysInlineMaxSize()
    b.setAlwaysInlineMaxSize(32)
    try {
      module.runPasses(["inlining"])
    } finally {
      b.setAlwaysInlineMaxSize(previous)
    }
    if (!module.validate()) throw new Error("fuel instrumentation produced an invalid module")
    return new Uint8Array(module.emitBinary())
  } finally {
    module.dispose()
  }
}

interface FuelExports {
  readonly [fuelGlobal]: WebAssembly.Global
}

/** The host side of metering: the exhaustion import, and setting and reading the budget around a call. */
export const meter: FuelMeter = {
  imports: {
    exhausted: () => {
      throw new FuelSignal()
    }
  },
  reset: (instance, budget) => {
    ;(instance.exports as unknown as FuelExports)[fuelGlobal].value = BigInt(budget)
  },
  used: (instance, budget) => {
    const left = (instance.exports as unknown as FuelExports)[fuelGlobal].value as bigint
    return left < 0n ? budget : budget - Number(left)
  }
}
