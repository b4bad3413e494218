/**
 * Runs the plugin walkthrough in docs/plugins.md: writes its files, runs its commands, and runs its test, so the
 * guide stays true.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { spawnSync } from "node:child_process"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Hook, HookBus } from "../src/index.ts"
import { Plugin } from "../src/wasm/index.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const guide = readFileSync(join(root, "docs/plugins.md"), "utf8")
const folder = `guide-test-${process.pid}`
const env = { ...process.env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}` }

/** Fenced blocks with their info strings. */
const blocks = [...guide.matchAll(/```(\w+)([^\n]*)\n([\s\S]*?)```/g)].map(([, lang, info, body]) => ({
  lang,
  info: info.trim(),
  body
}))

describe("docs/plugins.md walkthrough", () => {
  it.effect("every file and command in it works", () =>
    Effect.gen(function*() {
      const files = blocks.filter((b) => b.info.startsWith("file=greeter/"))
      assert.deepStrictEqual(files.map((f) => f.info), ["file=greeter/assembly/index.ts", "file=greeter/plugin.json"])
      for (const file of files) {
        const path = join(root, file.info.slice("file=".length).replace(/^greeter\//, `${folder}/`))
        mkdirSync(dirname(path), { recursive: true })
        writeFileSync(path, file.body)
      }
      const commands = blocks.filter((b) => b.lang === "sh" && b.info === "test").flatMap((b) =>
        b.body.trim().split("\n")
      )
      assert.strictEqual(commands.length, 4)
      const outputs: Array<string> = []
      for (const command of commands) {
        // Run as written, in the repository root, with the scratch folder for the plugin's.
        const line = command.replace(/\bgreeter\b/g, folder)
        const result = spawnSync("bash", ["-c", line], {
          cwd: root,
          encoding: "utf8",
          env,
          timeout: 120_000
        })
        assert.strictEqual(result.status, 0, `${line}\n${result.stdout}\n${result.stderr}`)
        outputs.push(result.stdout)
      }
      assert.match(outputs[1], /conformant: every check passed/)
      assert.strictEqual(outputs[2].trim().split("\n").at(-1), JSON.stringify("Hello, Ada!"))
      assert.match(outputs[3], /ok: action "user.login" dispatched to 1 handler\(s\)/)

      // Step 4: the test from the guide, against the plugin built above.
      const Greeting = Hook.filter("greeting", { value: Schema.String })
      yield* Effect.gen(function*() {
        yield* Plugin.load(join(root, folder))
        const bus = yield* HookBus
        assert.strictEqual(yield* bus.applyFilters(Greeting, "Ada"), "Hello, Ada!")
        assert.strictEqual(yield* bus.applyFilters(Greeting, ""), "Hello, stranger!")
      }).pipe(
        Effect.provide(Layer.fresh(HookBus.layerTest)),
        Effect.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer))
      )
    }).pipe(Effect.ensuring(Effect.sync(() => rmSync(join(root, folder), { recursive: true, force: true })))), 180_000)
})

/** Runs a language section: writes its files into a scratch folder, runs its commands, loads the plugin. */
const runSection = (language: string, name: string) => {
  const scratch = `guide-test-${language}-${process.pid}`
  return Effect.gen(function*() {
    const files = blocks.filter((b) => b.info.startsWith(`file=${name}/`))
    assert.isAtLeast(files.length, 2, `${language}: the guide has no files for ${name}`)
    for (const file of files) {
      const path = join(root, scratch, file.info.slice(`file=${name}/`.length))
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, file.body)
    }
    const commands = blocks.filter((b) => b.lang === "sh" && b.info === `test=${language}`).flatMap((b) =>
      b.body.trim().split("\n")
    )
    assert.isAtLeast(commands.length, 3, `${language}: the guide has no commands`)
    const outputs: Array<string> = []
    for (const command of commands) {
      // The folder is renamed; a file name like build/greeter-c.wasm is not.
      const line = command.replace(new RegExp(`\\b${name}(?=/|\\s|$)`, "g"), scratch)
      const result = spawnSync("bash", ["-c", line], { cwd: root, encoding: "utf8", env, timeout: 120_000 })
      assert.strictEqual(result.status, 0, `${line}\n${result.stdout}\n${result.stderr}`)
      outputs.push(result.stdout)
    }
    assert.isTrue(outputs.some((o) => /conformant: every check passed/.test(o)), "no inspect that passed")
    assert.strictEqual(outputs.at(-1)!.trim().split("\n").at(-1), JSON.stringify("Hello, Ada!"))
    const Greeting = Hook.filter("greeting", { value: Schema.String })
    yield* Effect.gen(function*() {
      yield* Plugin.load(join(root, scratch))
      const bus = yield* HookBus
      assert.strictEqual(yield* bus.applyFilters(Greeting, "Ada"), "Hello, Ada!")
      assert.strictEqual(yield* bus.applyFilters(Greeting, ""), "Hello, stranger!")
    }).pipe(
      Effect.provide(Layer.fresh(HookBus.layerTest)),
      Effect.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer))
    )
  }).pipe(Effect.ensuring(Effect.sync(() => rmSync(join(root, scratch), { recursive: true, force: true }))))
}

describe("docs/plugins.md, a section per guest language", () => {
  it.effect("C: the greeter builds with clang, passes inspect and greets", () => runSection("c", "greeter-c"), 180_000)
  it.effect(
    "Rust: the greeter builds with Debian's rustc, passes inspect and greets",
    () => runSection("rust", "greeter-rust"),
    180_000
  )
})
