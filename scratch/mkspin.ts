import { mkdirSync, writeFileSync } from "node:fs"
import { abiModule, compileWatPromise } from "../test/fixtures/wat.ts"
const dir = process.argv[2]
const n = Number(process.argv[3] ?? 1)
const wat = abiModule({
  memory: `(memory (export "memory") 256)`,
  handle: `(loop $l (memory.fill (i32.const 0) (i32.const 0) (i32.const 16777216)) (br $l)) (i64.const 0)`
})
const bytes = await compileWatPromise(wat)
for (let i = 0; i < n; i++) {
  const name = `spin-${String(i).padStart(2, "0")}`
  mkdirSync(`${dir}/${name}`, { recursive: true })
  writeFileSync(`${dir}/${name}/spin.wasm`, bytes)
  writeFileSync(`${dir}/${name}/plugin.json`, JSON.stringify({ abi: 1, name, version: "1.0.0", wasm: { path: "spin.wasm" }, hooks: [{ name: "spin", kind: "action" }] }))
}
