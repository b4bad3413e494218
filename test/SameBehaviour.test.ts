/**
 * One spec, every guest language: the slugify and audit example plugins in AssemblyScript, C and Rust take the
 * same inputs and must give identical outputs (and match the TypeScript oracle in slugSpec.ts), including
 * Unicode, long titles and payloads at the 1 MiB cap.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { fileURLToPath } from "node:url"
import { HookBus } from "../src/index.ts"
import { Plugin } from "../src/wasm/index.ts"
import { captureLogs, type LogEntry, messageOf } from "./helpers.ts"
import * as SlugSpec from "./slugSpec.ts"

const dir = (path: string) => fileURLToPath(new URL(`../examples/${path}`, import.meta.url))

const slugifiers = [
  { language: "AssemblyScript", folder: dir("plugins/slugify") },
  { language: "C", folder: dir("c/slugify") },
  { language: "Rust", folder: dir("rust/slugify") }
] as const
const auditors = [
  { language: "AssemblyScript", folder: dir("plugins/audit") },
  { language: "C", folder: dir("c/audit") },
  { language: "Rust", folder: dir("rust/audit") }
] as const

const Env = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)
const withBus = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false }))), Effect.provide(Env))

/**
 * Cased letters added to Unicode after version 13: AssemblyScript's case tables are Unicode 13, Rust 1.63's are
 * Unicode 14 and the generated C table follows Node's ICU, so each lowercases these as its Unicode version says.
 */
const newerCaseMappings: ReadonlyArray<readonly [number, number]> = [
  [0x1c89, 0x1c89],
  [0x2c2f, 0x2c2f],
  [0xa7c0, 0xa7c0],
  [0xa7cb, 0xa7dc],
  [0x10570, 0x10595],
  [0x10d50, 0x10d65],
  [0x16ea0, 0x16eb8]
]
const inSpec = (cp: number) =>
  !(cp >= 0xd800 && cp <= 0xdfff) && !newerCaseMappings.some(([from, to]) => cp >= from && cp <= to)

/**
 * Titles of 30 code points each (space-separated, so each is its own piece): every code point of planes 0 and 1
 * (where the scripts with case are), and every 257th beyond.
 */
const everyCodePoint = (): Array<string> => {
  const titles: Array<string> = []
  let batch: Array<string> = []
  for (let cp = 0; cp <= 0x10ffff; cp += cp < 0x20000 ? 1 : 257) {
    if (!inSpec(cp)) continue
    batch.push(`A${String.fromCodePoint(cp)}`)
    if (batch.length === 30) {
      titles.push(batch.join(" "))
      batch = []
    }
  }
  if (batch.length > 0) titles.push(batch.join(" "))
  return titles
}

const curated = [
  "Hello, World!",
  "  Ünïcödé   Crème Brûlée  ",
  "Straße & Søren Łódź",
  "Décomposé é",
  "Ελληνικά και русский",
  "ΟΔΟΣ ΣΟΦΟΣ: Σ σ ς",
  "İstanbul ǅemal ẞig ＡＢＣ Ⅻ",
  "日本語のタイトル、です",
  "emoji 🎉 party 👩‍👩‍👧 𝔘𝔫𝔦",
  "tab\tnew\nline \"quotes\" back\\slash \u0000 nul",
  "---",
  "",
  "x".repeat(300),
  `${"x".repeat(95)}ß`,
  `${"x".repeat(94)} y`,
  `${"x".repeat(95)} y`,
  `${"é".repeat(120)}`,
  `${"日".repeat(200)}`
]

/** A filter payload of exactly `bytes` bytes carrying a title that starts with `head`. */
const payloadOfSize = (head: string, bytes: number): string => {
  const shell = (title: string) => JSON.stringify({ kind: "filter", value: title, args: [] })
  const padding = bytes - Buffer.byteLength(shell(head))
  return head + "a".repeat(padding)
}

const slugsOf = (folder: string, titles: ReadonlyArray<string>) =>
  withBus(Effect.gen(function*() {
    const handle = yield* Plugin.load(folder)
    const out: Array<string> = []
    for (const title of titles) {
      const { value } = yield* handle.instance.callFilter("post.slug", title)
      out.push(value as string)
    }
    return out
  }))

describe("the same behaviour in every guest language", () => {
  it.effect("slugify: curated titles, identical in every language and equal to the spec", () =>
    Effect.gen(function*() {
      const expected = curated.map(SlugSpec.slugify)
      assert.strictEqual(expected[4], "ελληνικά-και-русский")
      assert.strictEqual(expected[5], "οδοσ-σοφοσ-σ-σ-σ")
      for (const { folder, language } of slugifiers) {
        const got = yield* slugsOf(folder, curated)
        for (let i = 0; i < curated.length; i++) {
          assert.strictEqual(got[i], expected[i], `${language}: ${JSON.stringify(curated[i])}`)
        }
      }
    }), 60_000)

  it.effect(
    "slugify: every code point of planes 0 and 1, and a sample beyond (outside version-dependent case mappings)",
    () =>
      Effect.gen(function*() {
        const titles = everyCodePoint()
        const expected = titles.map(SlugSpec.slugify)
        for (const { folder, language } of slugifiers) {
          const got = yield* slugsOf(folder, titles)
          const wrong = titles.flatMap((title, i) =>
            got[i] === expected[i] ? [] : [`${title} -> ${got[i]} (want ${expected[i]})`]
          )
          assert.deepStrictEqual(wrong.slice(0, 5), [], `${language}: ${wrong.length} titles differ`)
        }
      }),
    120_000
  )

  it.effect("slugify: random strings give the same slug in every language", () =>
    Effect.gen(function*() {
      const alphabet = fc.oneof(
        fc.constantFrom(" ", "-", "_", ".", "'", "Σ", "ß", "İ", "\u0301", "🎉", "日", "\t"),
        fc.integer({ min: 0x20, max: 0x24f }).map((cp) => String.fromCodePoint(cp)),
        fc.integer({ min: 0x370, max: 0x52f }).map((cp) => String.fromCodePoint(cp))
      )
      const titles = fc.sample(fc.array(alphabet, { maxLength: 140 }).map((chars) => chars.join("")), {
        numRuns: 400,
        seed: 19
      })
      const expected = titles.map(SlugSpec.slugify)
      for (const { folder, language } of slugifiers) {
        assert.deepStrictEqual(yield* slugsOf(folder, titles), expected, language)
      }
    }), 60_000)

  it.effect(
    "slugify: payloads at the 1 MiB cap work alike; one byte over fails alike, before the guest runs",
    () =>
      Effect.gen(function*() {
        const atCap = payloadOfSize("Ünïcödé Crème 🎉 ", 1_048_576)
        const expected = SlugSpec.slugify(atCap)
        for (const { folder, language } of slugifiers) {
          const [got] = yield* slugsOf(folder, [atCap])
          assert.strictEqual(got, expected, language)
          const error = yield* Effect.flip(slugsOf(folder, [`${atCap}a`]))
          assert.strictEqual(error._tag, "PayloadTooLarge", language)
        }
      }),
    60_000
  )

  it.effect("audit: the same log line for the same arguments, and the same error without them", () =>
    Effect.gen(function*() {
      const calls: ReadonlyArray<ReadonlyArray<unknown>> = [
        ["42", "ada"],
        [42],
        [{ tags: ["a", "b"], score: 2.5, nested: { ok: true, none: null } }, "Zoë"],
        ["ünï \"quoted\"\n🎉", "José"],
        [1e21, 7],
        [-0.000001, "x"]
      ]
      // The epoch, a leap day's last millisecond, a century's leap day, a non-leap century, today-ish.
      const times = [0, 1_709_251_199_999, 951_782_400_000, 4_107_542_400_001, 1_764_763_200_123, 253_402_300_799_999]
      const linesOf = (folder: string) => {
        const logs: Array<LogEntry> = []
        return withBus(Effect.gen(function*() {
          const handle = yield* Plugin.load(folder)
          for (let i = 0; i < calls.length; i++) {
            yield* TestClock.setTime(times[i])
            yield* handle.instance.callAction("post.saved", calls[i])
          }
          const error = yield* Effect.flip(handle.instance.callAction("post.saved", []))
          return {
            lines: logs.map(messageOf),
            error: error._tag === "GuestError" ? [error.detail, error.code] : error._tag
          }
        })).pipe(captureLogs(logs))
      }
      const [reference, ...others] = yield* Effect.forEach(auditors, ({ folder }) => linesOf(folder))
      assert.deepStrictEqual(reference.lines.slice(0, 2), [
        "audit: post 42 saved by ada at 1970-01-01T00:00:00.000Z",
        `audit: post 42 saved by unknown at ${new Date(times[1]).toISOString()}`
      ])
      assert.deepStrictEqual(
        reference.lines.map((line) => line.slice(line.lastIndexOf(" at ") + 4)),
        times.map((t) => new Date(t).toISOString())
      )
      assert.strictEqual(reference.lines.length, calls.length)
      assert.deepStrictEqual(reference.error, ["post.saved needs the post id", "E_ARGS"])
      others.forEach((other, i) => assert.deepStrictEqual(other, reference, auditors[i + 1].language))
    }))
})
