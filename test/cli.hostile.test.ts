/**
 * The `hookbus` command against hostile plugin folders, run as real processes: every command ends on SIGTERM and
 * SIGINT within a second even while a guest call holds the main thread, the manifest cannot raise the CLI's
 * limits, and plugin text never reaches the terminal raw.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawn, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { abiModule, compileWatPromise } from "./fixtures/wat.ts"

const root = fileURLToPath(new URL("..", import.meta.url))

/** A call that outlives any test: a 16 MiB `memory.fill` per loop pass, every pass. */
const spinning = abiModule({
  memory: `(memory (export "memory") 256)`,
  handle: `(loop $l (memory.fill (i32.const 0) (i32.const 0) (i32.const 16777216)) (br $l)) (i64.const 0)`
})

/** Plugin folders under a fresh directory, each `{ name, bytes, manifest extra }`. */
const pluginDir = (
  plugins: ReadonlyArray<{ readonly name: string; readonly bytes: Uint8Array; readonly extra?: object }>,
  hooks: ReadonlyArray<object>
) => {
  const dir = mkdtempSync(join(tmpdir(), "hookbus-hostile-"))
  for (const p of plugins) {
    mkdirSync(join(dir, p.name))
    writeFileSync(join(dir, p.name, "plugin.wasm"), p.bytes)
    writeFileSync(
      join(dir, p.name, "plugin.json"),
      JSON.stringify({ abi: 1, name: p.name, version: "1.0.0", wasm: { path: "plugin.wasm" }, hooks, ...p.extra })
    )
  }
  return dir
}

/**
 * Spawns the CLI and sends `signal` `afterMs` after `trigger` appears on its stderr (or after start, without one);
 * resolves with whether it was still running then, and how long it took to end after the signal.
 */
const endsOnSignal = (
  args: ReadonlyArray<string>,
  signal: NodeJS.Signals,
  afterMs: number,
  trigger?: string
) =>
  new Promise<{ readonly alive: boolean; readonly ms: number; readonly how: string }>((resolve) => {
    const child = spawn(process.execPath, ["src/cli/main.ts", ...args], {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"]
    })
    let sentAt = 0
    let alive = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const arm = () => {
      timer ??= setTimeout(() => {
        alive = child.exitCode === null && child.signalCode === null
        sentAt = performance.now()
        child.kill(signal)
      }, afterMs)
    }
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
      if (trigger !== undefined && stderr.includes(trigger)) arm()
    })
    if (trigger === undefined) arm()
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.on("exit", (code, sig) => {
      clearTimeout(timer)
      clearTimeout(guard)
      resolve({ alive, ms: sentAt === 0 ? -1 : performance.now() - sentAt, how: sig ?? `exit ${code}` })
    })
  })

describe("every CLI command ends on SIGTERM/SIGINT within a second", () => {
  it("run, while guest calls hold the main thread (SIGTERM and SIGINT)", async () => {
    const bytes = await compileWatPromise(spinning)
    // 48 plugins on one action, each spending its whole fuel budget: every sync handler runs, one after the other,
    // for seconds without the main thread coming free. A broken folder makes the CLI say when loading is over.
    const dir = pluginDir(
      Array.from({ length: 48 }, (_, i) => ({ name: `spin-${String(i).padStart(2, "0")}`, bytes })),
      [{ name: "spin", kind: "action" }]
    )
    mkdirSync(join(dir, "zz-broken"))
    writeFileSync(join(dir, "zz-broken", "plugin.json"), "{}")
    try {
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        const result = await endsOnSignal(
          ["run", "--plugins", dir, "--hook", "spin"],
          signal,
          300,
          "plugin failed to load"
        )
        assert.isTrue(result.alive, "the command was still inside the dispatch when signalled")
        assert.isBelow(result.ms, 1000, `ended ${result.ms.toFixed(0)} ms after ${signal} (${result.how})`)
        assert.strictEqual(result.how, signal)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)

  for (const args of [["list"], ["demo"], ["inspect", "examples/plugins/uppercase"]]) {
    it(`${args[0]}, signalled while it starts`, async () => {
      const result = await endsOnSignal(args, "SIGTERM", 300)
      assert.isTrue(result.alive)
      assert.isBelow(result.ms, 1000, `ended ${result.ms.toFixed(0)} ms after SIGTERM (${result.how})`)
    }, 30_000)
  }
})

describe("the CLI applies the host's ceilings", () => {
  it("run and inspect refuse a manifest that raises its own fuel and memory", async () => {
    const bytes = await compileWatPromise(spinning)
    const dir = pluginDir(
      [{ name: "greedy", bytes, extra: { limits: { fuel: 9007199254740991, memoryPages: 65536 } } }],
      [{ name: "spin", kind: "action" }]
    )
    try {
      const run = spawnSync(process.execPath, ["src/cli/main.ts", "run", "--plugins", dir, "--hook", "spin"], {
        cwd: root,
        encoding: "utf8",
        timeout: 30_000
      })
      assert.strictEqual(run.status, 1, run.stderr)
      assert.match(run.stderr, /limits\.memoryPages 65536 is over the ceiling of 256; limits\.fuel 9007199254740991/)
      const inspect = spawnSync(process.execPath, ["src/cli/main.ts", "inspect", join(dir, "greedy")], {
        cwd: root,
        encoding: "utf8",
        timeout: 30_000
      })
      assert.strictEqual(inspect.status, 1, inspect.stdout)
      assert.match(inspect.stdout, /FAIL {2}limits .*over the ceiling/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})

describe("plugin text never reaches the terminal raw", () => {
  it("a guest error with escape sequences and a newline prints as one escaped line", async () => {
    const body = `{"error":"bad\\u001b[2J\\nok: forged line"}`
    const bytes = await compileWatPromise(abiModule({
      data: body,
      handle: `(i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const ${new TextEncoder().encode(body).length}))`
    }))
    const dir = pluginDir([{ name: "forger", bytes }], [{ name: "the_content", kind: "filter" }])
    try {
      const run = spawnSync(
        process.execPath,
        ["src/cli/main.ts", "run", "--plugins", dir, "--hook", "the_content", "--value", `"x"`],
        { cwd: root, encoding: "utf8", timeout: 30_000 }
      )
      assert.strictEqual(run.status, 1)
      assert.notInclude(run.stdout + run.stderr, "\u001b")
      assert.notMatch(run.stdout + run.stderr, /^ok: forged/m)
      assert.match(run.stderr, /^hookbus: .*GuestError: plugin "forger" failed on hook "the_content": bad\\u001b\[2J$/m)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
