/**
 * The consumer test: packs hookbus and @hookbus/assemblyscript, installs the tarballs into a scratch project the
 * way the README's Install section says, and uses them only through what was packed: a TypeScript program
 * (type-checked, then run) on `HookBus.layer` and `Plugin.load`, the installed `hookbus` bin, and a plugin
 * scaffolded and built from AssemblyScript with the installed SDK. A file missing from a tarball fails it.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll } from "vitest"
import { measure } from "../scripts/import-cost.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const scratch = mkdtempSync(join(tmpdir(), "hookbus-consumer-"))
const app = join(scratch, "app")
// The bin's `#!/usr/bin/env node` and npm itself run on this Node (the pinned one under npm test).
const env = {
  ...process.env,
  PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
  npm_config_update_notifier: "false"
}
const version = (pkg: string) =>
  (JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version

interface Packed {
  readonly filename: string
  readonly files: ReadonlyArray<{ readonly path: string }>
}

const run = (command: string, args: ReadonlyArray<string>, cwd = app) => {
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8", timeout: 120_000 })
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    all: `${result.stdout}\n${result.stderr}`
  }
}
const ok = (command: string, args: ReadonlyArray<string>, cwd = app) => {
  const result = run(command, args, cwd)
  assert.strictEqual(result.status, 0, `${command} ${args.join(" ")}\n${result.all}`)
  return result.stdout
}
const hookbus = (...args: ReadonlyArray<string>) => ok("npx", ["--no-install", "hookbus", ...args])

let main: Packed
let sdk: Packed

const consumer = `import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Layer, Schema } from "effect"
import { Hook, HookBus } from "hookbus"
import { Plugin } from "hookbus/wasm"
import assert from "node:assert/strict"
import { createRequire } from "node:module"

const TheContent = Hook.filter("the_content", { value: Schema.String })
const plugins = createRequire(import.meta.url).resolve("hookbus/package.json").replace(/package\\.json$/, "examples/plugins")

const program = Effect.gen(function*() {
  const bus = yield* HookBus
  yield* bus.addFilter(TheContent, (text) => Effect.succeed(text.trim()), { source: "trim", priority: 1 })
  assert.equal(yield* bus.applyFilters(TheContent, "  hello  "), "hello")
  const plugin = yield* Plugin.load(plugins + "/uppercase")
  assert.equal(plugin.name, "uppercase")
  assert.equal(yield* bus.applyFilters(TheContent, "  hello  "), "HELLO")
  return "consumer ok"
})

const message: string = await program.pipe(
  Effect.scoped,
  Effect.provide(Layer.fresh(HookBus.layer)),
  Effect.provide(NodeServices.layer),
  Effect.runPromise
)
console.log(message)
`

describe("installed from the packed tarballs", () => {
  beforeAll(() => {
    // `npm pack` runs prepack: the build into dist/ and the example plugins' modules.
    // prepack's own output comes first on stdout; the JSON report is the last thing npm prints.
    const output = execFileSync("npm", ["pack", "--json", "--pack-destination", scratch, ".", "./sdk/assemblyscript"], {
      cwd: root,
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"]
    })
    const packed = JSON.parse(output.slice(output.search(/^\[/m))) as Array<Packed>
    main = packed[0]
    sdk = packed[1]
    mkdirSync(app)
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2)
    )
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify(
        {
          compilerOptions: {
            target: "ES2022",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            strict: true,
            noEmit: true,
            allowImportingTsExtensions: true,
            erasableSyntaxOnly: true,
            verbatimModuleSyntax: true,
            types: ["node"]
          },
          include: ["consumer.ts"]
        },
        null,
        2
      )
    )
    writeFileSync(join(app, "consumer.ts"), consumer)
    // The README's Install section, with the tarballs for the registry's hookbus; dependencies come from the npm
    // cache that this repository's `npm ci` filled (the registry only for what it lacks).
    const install = ["install", "--prefer-offline", "--no-audit", "--no-fund"]
    ok("npm", [
      ...install,
      join(scratch, main.filename),
      `effect@${version("effect")}`,
      `@effect/platform-node@${version("@effect/platform-node")}`
    ])
    ok("npm", [...install, "--save-dev", join(scratch, sdk.filename), `@types/node@${version("@types/node")}`])
  }, 600_000)

  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  it("ships what a consumer needs, and nothing of the repository's own", () => {
    const paths = main.files.map((f) => f.path)
    for (
      const needed of [
        "package.json",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "dist/index.js",
        "dist/index.d.ts",
        "dist/index.js.map",
        "dist/wasm/index.js",
        "dist/wasm/index.d.ts",
        "dist/wasm/worker/guestWorker.js",
        "dist/cli/index.js",
        "dist/cli/main.js",
        "dist/inspector/index.js",
        "dist/inspector/index.d.ts",
        "examples/plugins/uppercase/plugin.json",
        "examples/plugins/uppercase/build/uppercase.wasm",
        "src/index.ts"
      ]
    ) assert.include(paths, needed)
    for (const path of paths) {
      assert.notMatch(path, /^(test|bench|scripts|docs|\.ci|node_modules|sdk|guide-test-[^/]*|scratch)\//, path)
    }
    assert.sameMembers(sdk.files.map((f) => f.path), [
      "package.json",
      "README.md",
      "index.ts",
      "json.ts",
      "build.js",
      "build.d.ts"
    ])
  })

  it("type-checks and runs a TypeScript program on HookBus.layer and Plugin.load", () => {
    ok(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"])
    assert.strictEqual(ok(process.execPath, ["consumer.ts"]).trim(), "consumer ok")
  })

  it("hookbus loads the bus without the wasm runtime; other subpaths are not exported", () => {
    const bus = measure("hookbus", 0, app)
    assert.isFalse(bus.wasmRuntime)
    assert.isTrue(measure("hookbus/wasm", 0, app).wasmRuntime)
    assert.isFalse(bus.inspector)
    assert.isFalse(measure("hookbus/inspector", 0, app).wasmRuntime)
    for (const subpath of ["hookbus/dist/wasm/Plugin.js", "hookbus/src/index.ts", "hookbus/wasm/Plugin"]) {
      const result = run(process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(subpath)})`])
      assert.notStrictEqual(result.status, 0)
      assert.include(result.stderr, "ERR_PACKAGE_PATH_NOT_EXPORTED", subpath)
    }
  })

  it("the installed bin: --help, inspect, run, list, demo", () => {
    const help = hookbus("--help")
    for (const command of ["run", "list", "inspect", "demo", "new", "build"]) {
      assert.match(help, new RegExp(`\\b${command}\\b`))
    }
    const bundled = join(app, "node_modules", "hookbus", "examples", "plugins")
    assert.include(hookbus("inspect", join(bundled, "uppercase")), "conformant")
    assert.strictEqual(
      hookbus("run", "--plugins", bundled, "--hook", "post.slug", "--value", JSON.stringify("Hello World")).trim(),
      JSON.stringify("hello-world")
    )
    assert.include(hookbus("list"), "the_content (filter)")
    assert.include(hookbus("demo"), "output:")
  })

  it("scaffolds and builds a plugin with the installed SDK, here and anywhere on disk", () => {
    hookbus("new", "my-plugin")
    assert.match(hookbus("build", "my-plugin"), /built: my-plugin\/build\/my-plugin\.wasm/)
    assert.include(hookbus("inspect", "my-plugin"), "conformant")
    assert.strictEqual(
      hookbus("run", "--plugins", ".", "--hook", "the_content", "--value", JSON.stringify("hi")).trim(),
      JSON.stringify("<p>hi</p>")
    )
    ok(process.execPath, ["--test", "my-plugin/test/my-plugin.test.ts"])

    const elsewhere = join(scratch, "elsewhere", "far-plugin")
    hookbus("new", elsewhere)
    hookbus("build", elsewhere)
    assert.include(hookbus("inspect", elsewhere), "conformant")
  }, 180_000) // Eight commands, each an npx start and most a compile: a minute is not enough on a busy machine.

  it("a compile error prints the compiler's message, not a stack trace", () => {
    hookbus("new", "broken")
    writeFileSync(join(app, "broken", "assembly", "index.ts"), `export function f(): i32 { return "no" }\n`)
    const result = run("npx", ["--no-install", "hookbus", "build", "broken"])
    assert.strictEqual(result.status, 1, result.all)
    assert.match(result.stderr, /building plugin broken failed/)
    assert.match(result.stderr, /TS2322|ERROR/)
    assert.notMatch(result.all, /^\s+at /m)
  })
})
