/**
 * The package's entry points load what they promise: `hookbus` (the bus) does not load the WebAssembly runtime or
 * the inspector, `hookbus/inspector` does not load the WebAssembly runtime, and no entry point loads a compiler
 * (binaryen, which fuel metering once needed).
 */
import { assert, describe, it } from "@effect/vitest"
import { fileURLToPath } from "node:url"
import { measure } from "../scripts/import-cost.ts"

const entry = (path: string) => new URL(`../src/${path}`, import.meta.url).href
const root = fileURLToPath(new URL("..", import.meta.url))

describe("entry points", () => {
  it("hookbus: the bus without the wasm runtime, binaryen or the durable engine (cluster, workflow, sql)", () => {
    const report = measure(entry("index.ts"), 0, root)
    assert.isFalse(report.wasmRuntime)
    assert.isFalse(report.binaryen)
    assert.isFalse(report.durableEngine)
    assert.isAbove(report.modules, 10)
  })

  it("hookbus/wasm: the runtime, no binaryen", () => {
    const report = measure(entry("wasm/index.ts"), 0, root)
    assert.isTrue(report.wasmRuntime)
    assert.isFalse(report.binaryen)
  })

  it("hookbus/inspector: the inspector without the wasm runtime (loaded only when a plugin is shown)", () => {
    const report = measure(entry("inspector/index.ts"), 0, root)
    assert.isFalse(report.wasmRuntime)
    assert.isFalse(report.binaryen)
  })

  it("hookbus: nothing of the inspector", () => {
    assert.isFalse(measure(entry("index.ts"), 0, root).inspector)
  })

  it("hookbus/durable: the durable engine, not the wasm runtime", () => {
    const report = measure(entry("durable/index.ts"), 0, root)
    assert.isTrue(report.durableEngine)
    assert.isFalse(report.wasmRuntime)
  })

  it("hookbus/cli: no binaryen at import", () => {
    assert.isFalse(measure(entry("cli/index.ts"), 0, root).binaryen)
  })
})
