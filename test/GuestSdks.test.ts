/**
 * The C and Rust guest SDKs under load: their allocators really free, so 100,000 calls leave the guest's memory
 * where the first calls put it.
 */
import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Guest } from "../src/wasm/Guest.ts"

const modulePath = (path: string) => fileURLToPath(new URL(`../examples/${path}`, import.meta.url))

const guests = [
  {
    name: "C slugify",
    wasm: modulePath("c/slugify/build/slugify-c.wasm"),
    hook: "post.slug",
    payload: JSON.stringify({ kind: "filter", value: "Crème Brûlée, a Déjà-vu Story 🎉 ".repeat(8), args: [] })
  },
  {
    name: "C audit",
    wasm: modulePath("c/audit/build/audit-c.wasm"),
    hook: "post.saved",
    payload: JSON.stringify({ kind: "action", args: [{ id: 42, tags: ["a", "b"] }, "Zoë"] })
  },
  {
    name: "Rust slugify",
    wasm: modulePath("rust/slugify/build/slugify-rust.wasm"),
    hook: "post.slug",
    payload: JSON.stringify({ kind: "filter", value: "Crème Brûlée, a Déjà-vu Story 🎉 ".repeat(8), args: [] })
  },
  {
    name: "Rust audit",
    wasm: modulePath("rust/audit/build/audit-rust.wasm"),
    hook: "post.saved",
    payload: JSON.stringify({ kind: "action", args: [{ id: 42, tags: ["a", "b"] }, "Zoë"] })
  }
] as const

describe("guest SDKs in C and Rust", () => {
  for (const { hook, name, payload, wasm } of guests) {
    it(`${name}: 100,000 calls leave the guest's memory flat`, () => {
      let logged = 0
      const guest = new Guest(
        name,
        new WebAssembly.Module(readFileSync(wasm)),
        { maxPayloadBytes: 1 << 20, maxResultBytes: 1 << 20, fuel: undefined },
        { log: () => logged++, nowMillis: () => 0 }
      )
      for (let i = 0; i < 1_000; i++) guest.call(hook, payload)
      const warmed = guest.memoryBytes()
      for (let i = 0; i < 100_000; i++) {
        const result = guest.call(hook, payload)
        if (result._tag !== "Ok") throw new Error(`call ${i} failed: ${result.error.message}`)
      }
      assert.strictEqual(guest.memoryBytes(), warmed, "memory grew over 100,000 calls")
      assert.isAtMost(warmed, 4 * 65_536)
      assert.strictEqual(guest.instances, 1)
      assert.strictEqual(logged, hook === "post.saved" ? 101_000 : 0)
    }, 120_000)
  }
})
