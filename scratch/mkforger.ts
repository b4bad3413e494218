import { mkdirSync, writeFileSync } from "node:fs"
import { abiModule, compileWatPromise } from "../test/fixtures/wat.ts"
const dir = process.argv[2]
const body = `{"error":"bad\\nok: forged line\\u001b[2J"}`
const bytes = await compileWatPromise(abiModule({ data: body, handle: `(i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const ${new TextEncoder().encode(body).length}))` }))
mkdirSync(`${dir}/forger`, { recursive: true })
writeFileSync(`${dir}/forger/plugin.wasm`, bytes)
writeFileSync(`${dir}/forger/plugin.json`, JSON.stringify({ abi: 1, name: "forger", version: "1.0.0", wasm: { path: "plugin.wasm" }, hooks: [{ name: "the_content", kind: "filter" }] }))
