/**
 * The `hookbus` command and the blog server, run as real processes.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawn, spawnSync } from "node:child_process"
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const hookbusWith = (input: string | undefined, ...args: Array<string>) => {
  const result = spawnSync(process.execPath, ["src/cli/main.ts", ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
    ...(input === undefined ? {} : { input })
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}
const hookbus = (...args: Array<string>) => hookbusWith(undefined, ...args)

describe("hookbus run", () => {
  it("applies a filter through the bundled plugins and prints the result", () => {
    const { code, stderr, stdout } = hookbus("run", "--hook", "the_content", "--value", JSON.stringify("hello plugins"))
    assert.strictEqual(code, 0, stderr)
    assert.strictEqual(stdout.trim(), JSON.stringify("HELLO PLUGINS\n\n(1 min read)"))
  })

  it("--trace prints the dispatch as an indented span tree with durations and outcomes", () => {
    const { code, stdout } = hookbus("run", "--hook", "post.slug", "--value", JSON.stringify("Déjà Vu!"), "--trace")
    assert.strictEqual(code, 0)
    assert.match(stdout, /"deja-vu"/)
    assert.match(stdout, /^hook\.filter post\.slug {2}\[[\d.]+ (µs|ms), ok, 1 handler\(s\)\]$/m)
    assert.match(stdout, /^ {2}hook\.handler plugin:slugify {2}\[[\d.]+ (µs|ms), ok, \d+ fuel\]$/m)
  })

  it("fires an action with --args", () => {
    const { code, stdout } = hookbus("run", "--hook", "post.saved", "--args", JSON.stringify(["7", "ada"]))
    assert.strictEqual(code, 0)
    assert.match(stdout, /ok: action "post.saved" dispatched to 1 handler\(s\)/)
  })

  const bad: ReadonlyArray<readonly [string, ReadonlyArray<string>, RegExp]> = [
    [
      "an unknown hook",
      ["run", "--hook", "nope"],
      /^hookbus: unknown hook: no loaded plugin handles "nope" \(known hooks: post\.saved, post\.slug, the_content\)$/
    ],
    ["invalid JSON", ["run", "--hook", "the_content", "--value", "{nope"], /^hookbus: invalid JSON for --value: /],
    [
      "args that are not an array",
      ["run", "--hook", "post.saved", "--args", "{}"],
      /^hookbus: --args must be a JSON array$/
    ],
    [
      "a missing directory",
      ["run", "--hook", "x", "--plugins", "/definitely/not/here"],
      /^hookbus: plugin directory not found: \/definitely\/not\/here$/
    ]
  ]
  for (const [title, args, line] of bad) {
    it(`bad input, ${title}: one clear line and exit code 2`, () => {
      const { code, stderr } = hookbus(...args)
      assert.strictEqual(code, 2)
      const lines = stderr.trim().split("\n")
      assert.strictEqual(lines.length, 1, stderr)
      assert.match(lines[0], line)
    })
  }

  it("an invalid manifest lists every problem; a plugin that fails to load is reported and the others still load", () => {
    const dir = mkdtempSync(join(tmpdir(), "hookbus-cli-"))
    try {
      spawnSync("cp", ["-r", join(root, "examples/plugins/uppercase"), join(dir, "uppercase")])
      spawnSync("mkdir", [join(dir, "broken")])
      writeFileSync(
        join(dir, "broken/plugin.json"),
        JSON.stringify({ abi: 2, name: "Broken", version: "x", hooks: [{}] })
      )
      const { code, stderr, stdout } = hookbus("run", "--hook", "the_content", "--value", "\"ok\"", "--plugins", dir)
      assert.notStrictEqual(code, 0)
      assert.strictEqual(stdout.trim(), "\"OK\"", "the other plugin still ran")
      assert.match(
        stderr,
        /^hookbus: plugin failed to load: invalid manifest .*broken\/plugin\.json: abi: .*name: .*version: .*hooks\[0\]\.name: .*hooks\[0\]\.kind: /m
      )
      assert.strictEqual(stderr.trim().split("\n").length, 1)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("hookbus run: async handlers, values, JSON", () => {
  it("waits for the async handlers it started and reports their failure as one line, exit 1", () => {
    const { code, stderr, stdout } = hookbus("run", "--hook", "post.saved")
    assert.strictEqual(code, 1)
    assert.strictEqual(stdout, "")
    assert.match(
      stderr,
      /^hookbus: async handler failed: action handler "plugin:audit" on hook "post\.saved" failed: GuestError: .*post\.saved needs the post id\n$/
    )
  })

  it("--json: one JSON document for a filter, an action and a failure", () => {
    const filter = hookbus("run", "--hook", "the_content", "--value", "\"hi\"", "--json")
    assert.strictEqual(filter.code, 0, filter.stderr)
    assert.deepStrictEqual(JSON.parse(filter.stdout), {
      ok: true,
      hook: "the_content",
      kind: "filter",
      value: "HI\n\n(1 min read)",
      shortCircuitedBy: null,
      errors: [],
      pluginFailures: []
    })
    const action = hookbus("run", "--hook", "post.saved", "--args", "[\"7\",\"ada\"]", "--json")
    assert.strictEqual(action.code, 0, action.stderr)
    assert.deepStrictEqual(JSON.parse(action.stdout), {
      ok: true,
      hook: "post.saved",
      kind: "action",
      handlers: 1,
      errors: [],
      pluginFailures: []
    })
    assert.match(JSON.parse(action.stderr.trim()).message, /^audit: post 7 saved by ada at /, "logs go to stderr")
    const failed = hookbus("run", "--hook", "post.saved", "--json")
    assert.strictEqual(failed.code, 1)
    const report = JSON.parse(failed.stdout)
    assert.isFalse(report.ok)
    assert.match(report.errors[0], /^async handler failed: .*post\.saved needs the post id$/)
  })

  it("--value-file takes a value past the OS argument limit, --value - reads stdin", () => {
    const dir = mkdtempSync(join(tmpdir(), "hookbus-value-"))
    try {
      // 200 KB: past Linux's 128 KiB limit on one argument. The plugin gets the fuel and the payload cap such a
      // value takes (its manifest declares 64 KiB, what it handles within its usual budget).
      const big = "word ".repeat(40_000)
      writeFileSync(join(dir, "value.json"), JSON.stringify(big))
      spawnSync("cp", ["-r", join(root, "examples/plugins/uppercase"), join(dir, "uppercase")])
      const manifest = JSON.parse(readFileSync(join(dir, "uppercase/plugin.json"), "utf8"))
      writeFileSync(
        join(dir, "uppercase/plugin.json"),
        JSON.stringify({ ...manifest, limits: { ...manifest.limits, fuel: 500_000_000, maxPayloadBytes: 1_048_576 } })
      )
      const file = hookbus(
        "run",
        "--hook",
        "the_content",
        "--plugins",
        join(dir, "uppercase"),
        "--value-file",
        join(dir, "value.json"),
        "--json"
      )
      assert.strictEqual(file.code, 0, file.stderr)
      // All of it: stdout is flushed before the process exits, even into a pipe.
      assert.strictEqual(JSON.parse(file.stdout).value, big.toUpperCase())
      const stdin = hookbusWith(JSON.stringify("from stdin"), "run", "--hook", "the_content", "--value", "-")
      assert.strictEqual(stdin.code, 0, stdin.stderr)
      assert.strictEqual(stdin.stdout.trim(), JSON.stringify("FROM STDIN\n\n(1 min read)"))
      const both = hookbus("run", "--hook", "the_content", "--value", "1", "--value-file", join(dir, "value.json"))
      assert.deepStrictEqual([both.code, both.stderr], [2, "hookbus: pass --value or --value-file, not both\n"])
      const missing = hookbus("run", "--hook", "the_content", "--value-file", join(dir, "nope.json"))
      assert.strictEqual(missing.code, 2)
      assert.match(missing.stderr, /^hookbus: cannot read --value-file .*nope\.json: .*\n$/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("--plugins may name one plugin folder; a folder with no plugins says what to pass", () => {
    const one = hookbus("run", "--hook", "the_content", "--value", "\"a\"", "--plugins", "examples/plugins/uppercase")
    assert.strictEqual(one.code, 0, one.stderr)
    assert.strictEqual(one.stdout.trim(), "\"A\"")
    const none = hookbus("list", "--plugins", "examples")
    assert.strictEqual(none.code, 2)
    assert.strictEqual(
      none.stderr,
      "hookbus: no plugins in examples: pass a plugin folder (with a plugin.json) or a directory of plugin folders\n"
    )
  })
})

describe("hookbus usage", () => {
  const usage: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
    [["run"], "hookbus: Missing required flag: --hook (see `hookbus run --help`)"],
    [
      ["run", "--hook", "x", "--kind", "both"],
      "hookbus: Invalid value for flag --kind: \"both\". Expected: \"action\" | \"filter\" (see `hookbus run --help`)"
    ],
    [["nope"], "hookbus: Unknown subcommand \"nope\" for \"hookbus\" (see `hookbus --help`)"]
  ]
  for (const [args, line] of usage) {
    it(`a usage error (${args.join(" ")}) is one line pointing at --help, exit code 2`, () => {
      const { code, stderr, stdout } = hookbus(...args)
      assert.deepStrictEqual([code, stdout, stderr], [2, "", `${line}\n`])
    })
  }

  it("--help documents the exit codes, shows --hook as required, and gives an example per command", () => {
    for (const command of ["run", "list", "inspect", "conformance", "jobs", "demo", "new", "build"]) {
      const { code, stdout } = hookbus(command, "--help")
      assert.strictEqual(code, 0)
      assert.include(stdout, "Exit codes: 0 ok, 1 a hook or plugin failed, 2 usage error.")
      assert.match(stdout, new RegExp(`EXAMPLES\\n(  # .*\\n)?  hookbus ${command}\\b`))
    }
    assert.match(hookbus("run", "--help").stdout, /--hook string +\(required\) The hook to fire/)
    assert.include(hookbus("--help").stdout, "Exit codes: 0 ok")
  })

  it("list and inspect print JSON with --json", () => {
    const list = hookbus("list", "--json")
    assert.strictEqual(list.code, 0, list.stderr)
    const hooks = JSON.parse(list.stdout).hooks
    assert.deepStrictEqual(hooks.find((h: any) => h.name === "the_content").handlers.map((h: any) => h.plugin), [
      "uppercase",
      "reading-time"
    ])
    const inspect = hookbus("inspect", "examples/plugins/uppercase", "--json")
    assert.strictEqual(inspect.code, 0, inspect.stderr)
    const report = JSON.parse(inspect.stdout)
    assert.isTrue(report.ok)
    assert.deepInclude(report.checks, { name: "unknown hook", ok: true, detail: "answers status -4" })
  })
})

/** A scratch copy of the bundled plugins' manifests, without their modules: a fresh clone before the build. */
const unbuiltPlugins = () => {
  const dir = mkdtempSync(join(tmpdir(), "hookbus-unbuilt-"))
  for (const name of ["audit", "reading-time", "slugify", "uppercase"]) {
    mkdirSync(join(dir, name))
    copyFileSync(join(root, "examples/plugins", name, "plugin.json"), join(dir, name, "plugin.json"))
  }
  return dir
}

describe("plugins that do not load", () => {
  it("the demo fails with exit 1 and says how to build the plugins", () => {
    const dir = unbuiltPlugins()
    try {
      const { code, stderr, stdout } = hookbus("demo", "--plugins", dir)
      assert.strictEqual(code, 1)
      const lines = stderr.trim().split("\n")
      assert.strictEqual(lines.length, 5, stderr)
      assert.match(
        lines[4],
        /^hookbus: the demo needs all its plugins, and 4 failed to load: run `npm run build:plugins` to build them \(in the hookbus repository\), or `hookbus build <folder>` for each$/
      )
      assert.notMatch(stdout, /loaded:|output:|logged/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  for (const command of [["run", "--hook", "the_content", "--value", "\"x\""], ["list"]]) {
    it(`${command[0]}: a module that is not built suggests hookbus build <folder> and npm run build:plugins`, () => {
      const dir = unbuiltPlugins()
      try {
        const { code, stderr } = hookbus(...command, "--plugins", dir)
        assert.notStrictEqual(code, 0)
        assert.match(
          stderr,
          /^hookbus: plugin failed to load: cannot read plugin at .*uppercase\.wasm: .* \(not built yet\? run `hookbus build \/.*\/uppercase`, or `npm run build:plugins` for the bundled examples\)$/m
        )
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  }

  it("a manifest that is not JSON is reported on one line, newlines in the text and all", () => {
    const dir = mkdtempSync(join(tmpdir(), "hookbus-cli-"))
    try {
      mkdirSync(join(dir, "broken"))
      writeFileSync(join(dir, "broken/plugin.json"), `{\n  "abi": 1,\n  "name": tru\n}\n`)
      const { code, stderr } = hookbus("list", "--plugins", dir)
      assert.notStrictEqual(code, 0)
      assert.strictEqual(stderr.trim().split("\n").length, 1, stderr)
      assert.match(
        stderr,
        /^hookbus: plugin failed to load: invalid manifest .*plugin\.json: \(root\): not valid JSON: /
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("hookbus list and inspect", () => {
  it("list: each hook with its handlers in resolved order", () => {
    const { code, stdout } = hookbus("list")
    assert.strictEqual(code, 0)
    assert.match(
      stdout,
      /the_content \(filter\)\n {2}plugin:uppercase +priority 10 +sync +plugin uppercase\n {2}plugin:reading-time +priority 10 +sync +plugin reading-time/
    )
    assert.match(stdout, /post\.saved \(action\)\n {2}plugin:audit +priority 10 +async +plugin audit/)
  })

  it("inspect: a conformant plugin exits 0 with a line per check", () => {
    const { code, stdout } = hookbus("inspect", "examples/plugins/uppercase")
    assert.strictEqual(code, 0)
    assert.match(stdout, /PASS {2}unknown hook +answers status -4/)
    assert.match(stdout, /conformant: every check passed/)
  })

  it("inspect: a broken plugin exits non-zero naming the failure", () => {
    const dir = mkdtempSync(join(tmpdir(), "hookbus-inspect-"))
    try {
      writeFileSync(
        join(dir, "plugin.json"),
        JSON.stringify({ abi: 1, name: "gone", version: "1.0.0", wasm: { path: "gone.wasm" }, hooks: [] })
      )
      const { code, stdout } = hookbus("inspect", dir)
      assert.notStrictEqual(code, 0)
      assert.match(stdout, /FAIL {2}module +cannot read .*gone\.wasm/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("the demo (npm start) runs end to end and exits 0", () => {
    const { code, stderr, stdout } = hookbus("demo")
    assert.strictEqual(code, 0, stderr)
    assert.match(stdout, /output: "HOOKS LET A BACKEND/)
    // One tree per request; the async handler under the dispatch it is linked to, and the link explained.
    assert.match(
      stdout,
      /trace:\ndemo: render a post {2}\[.*\]\n {2}hook\.filter the_content .*\n {4}hook\.handler plugin:uppercase .*\n {4}hook\.handler plugin:reading-time .*\ndemo: make a slug {2}\[.*\]\n {2}hook\.filter post\.slug .*\n {4}hook\.handler plugin:slugify .*\ndemo: save a post {2}\[.*\]\n {2}hook\.action post\.saved .*\n {4}hook\.handler durable-audit {2}\[.*\]\n {4}hook\.handler plugin:audit {2}\[.*\] {2}\(linked\)\n\(linked\): an async handler, run in its own fiber after the dispatch returned; .*\n\n/
    )
    assert.match(stdout, /hookbus_dispatch_total\{hook="the_content",kind="filter"\} 1/)
    // post.saved's durable audit: stored before doAction returned, then run by the demo's runner.
    assert.match(stdout, /durable audit: post 42 saved by ada/)
    assert.match(stdout, /durable job post\.saved\/durable-audit\/[0-9a-f-]{36}: done after 1 attempt\(s\)/)
  })
})

describe("blog server", () => {
  it(
    "serves posts through the filters, counts views, exposes metrics, exports traces, and stops gracefully",
    async () => {
      const traces: Array<string> = []
      const receiver = createServer((req, res) => {
        let body = ""
        req.on("data", (c) => (body += c))
        req.on("end", () => {
          traces.push(body)
          res.writeHead(200, { "content-type": "application/json" }).end("{}")
        })
      })
      await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
      const otlp = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
      const child = spawn(process.execPath, ["examples/blog-server/main.ts"], {
        cwd: root,
        env: { ...process.env, PORT: "0", INSPECTOR_PORT: "0", OTEL_EXPORTER_OTLP_ENDPOINT: otlp }
      })
      let output = ""
      child.stdout.on("data", (c) => (output += c))
      child.stderr.on("data", (c) => (output += c))
      try {
        const base = await new Promise<string>((resolve, reject) => {
          // Generous: on a loaded 2-core machine building the bus and loading four plugins can take a while.
          const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 90_000)
          child.once("exit", (code) => reject(new Error(`server exited (${code}) before listening:\n${output}`)))
          const check = setInterval(() => {
            const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
            if (match) {
              clearInterval(check)
              clearTimeout(timer)
              resolve(match[1])
            }
          }, 50)
        })
        // The inspector starts next to it and says where, once.
        assert.strictEqual(output.match(/hookbus inspector on http:\/\/127\.0\.0\.1:\d+\//g)?.length, 1, output)
        const post = await (await fetch(`${base}/posts/1`)).json() as { html: string; title: string }
        assert.strictEqual(post.title, "Hello, hooks")
        assert.strictEqual(
          post.html,
          "<article>HOOKS LET A BACKEND GROW WITHOUT REWIRING IT.\n\n(1 min read)</article>"
        )
        await fetch(`${base}/posts/1`)
        assert.strictEqual((await fetch(`${base}/posts/404`)).status, 404)
        const wrongMethod = await fetch(`${base}/posts/1`, { method: "POST" })
        assert.deepStrictEqual([wrongMethod.status, wrongMethod.headers.get("allow")], [405, "GET"])
        assert.deepStrictEqual(await (await fetch(`${base}/posts`)).json(), [
          { id: "1", title: "Hello, hooks", url: "/posts/1" },
          { id: "2", title: "Plugins in WebAssembly", url: "/posts/2" }
        ])
        assert.deepStrictEqual(await (await fetch(`${base}/health`)).json(), { status: "ok" })
        const index = await fetch(`${base}/`)
        assert.match(index.headers.get("content-type") ?? "", /^text\/html/)
        const links = [...(await index.text()).matchAll(/href="([^"]+)"/g)].map((m) => m[1])
        assert.deepStrictEqual(links, ["/posts/1", "/posts/2", "/posts", "/metrics", "/health"])
        const metrics = await (await fetch(`${base}/metrics`)).text()
        assert.match(metrics, /hookbus_dispatch_total\{hook="the_content",kind="filter"\} 2/)
        assert.match(metrics, /hookbus_dispatch_total\{hook="post\.viewed",kind="action"\} 2/)
        assert.match(metrics, /hookbus_plugin_fuel_used_count\{plugin="uppercase"\} 2/)
        const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
        child.kill("SIGINT")
        assert.strictEqual(await exit, 130)
        assert.match(output, /blog-server: stopped; async handlers drained/)
        const spans = traces.flatMap((t) =>
          JSON.parse(t).resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans))
        )
        assert.isTrue(
          spans.some((s: any) => s.name === "hook.filter the_content"),
          `spans: ${spans.map((s: any) => s.name)}`
        )
      } finally {
        child.kill("SIGKILL")
        receiver.close()
      }
    },
    150_000
  )
})

describe("blog server startup errors", () => {
  const start = (port: string, inspectorPort = "0") =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ["examples/blog-server/main.ts"], {
        cwd: root,
        env: { ...process.env, PORT: port, INSPECTOR_PORT: inspectorPort }
      })
      let stderr = ""
      child.stderr.on("data", (c) => (stderr += c))
      const timer = setTimeout(() => child.kill("SIGKILL"), 50_000)
      child.on("exit", (code) => {
        clearTimeout(timer)
        resolve({ code, stderr })
      })
    })

  it("a port in use is one line naming the port and the fix, exit 1", async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    const port = (taken.address() as AddressInfo).port
    try {
      const { code, stderr } = await start(String(port))
      assert.strictEqual(code, 1)
      assert.strictEqual(
        stderr,
        `blog-server: port ${port} on 127.0.0.1 is in use: stop what is listening there, or set PORT to a free port (e.g. PORT=${
          port + 1
        } npm run demo:server)\n`
      )
    } finally {
      taken.close()
    }
  }, 60_000)

  it("the inspector's port in use, or an INSPECTOR_PORT that is not one, is one line, exit 1", async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    const port = (taken.address() as AddressInfo).port
    try {
      const inUse = await start("0", String(port))
      assert.strictEqual(inUse.code, 1)
      assert.strictEqual(
        inUse.stderr,
        `blog-server: the inspector's port ${port} on 127.0.0.1 is in use: set INSPECTOR_PORT to a free port (e.g. INSPECTOR_PORT=${
          port + 1
        } npm run demo:server), or INSPECTOR_PORT=off\n`
      )
    } finally {
      taken.close()
    }
    const bad = await start("0", "x")
    assert.strictEqual(bad.code, 1)
    assert.strictEqual(
      bad.stderr,
      "blog-server: INSPECTOR_PORT must be a whole number from 0 to 65535 (or \"off\"), got \"x\" (e.g. INSPECTOR_PORT=4401 npm run demo:server)\n"
    )
  }, 60_000)

  it("a PORT that is not a port number is one line, exit 1", async () => {
    const { code, stderr } = await start("abc")
    assert.strictEqual(code, 1)
    assert.strictEqual(
      stderr,
      "blog-server: PORT must be a whole number from 0 to 65535, got \"abc\" (e.g. PORT=3001 npm run demo:server)\n"
    )
  }, 60_000)
})

describe("build:plugins", () => {
  it("prints each plugin as soon as it is done: built, with its time, or up to date", () => {
    const dir = mkdtempSync(join(tmpdir(), "hookbus-build-"))
    try {
      mkdirSync(join(dir, "shout"))
      spawnSync("cp", ["-r", join(root, "examples/plugins/uppercase/assembly"), join(dir, "shout/assembly")])
      const result = spawnSync(process.execPath, [join(root, "scripts/build-plugins.ts"), "shout"], {
        cwd: dir,
        encoding: "utf8",
        timeout: 120_000
      })
      assert.strictEqual(result.status, 0, result.stderr)
      const lines = result.stdout.split("\n")
      assert.strictEqual(lines[0], "building plugins:")
      for (const name of ["audit", "reading-time", "slugify", "uppercase"]) {
        assert.include(lines, `  ${name}: up to date`, result.stdout)
      }
      assert.isTrue(lines.some((l) => /^ {2}shout: built in \d+ ms$/.test(l)), result.stdout)
      assert.match(result.stdout, /^plugins ready \(5\) in \d+ ms:$/m)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})

describe("examples", () => {
  it("the quickstart has its own npm script, and says so; the README says how long npm test takes", () => {
    const scripts = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts
    assert.strictEqual(scripts.quickstart, "node examples/quickstart.ts")
    assert.include(readFileSync(join(root, "examples/quickstart.ts"), "utf8"), "Run it with `npm run quickstart`")
    const readme = readFileSync(join(root, "README.md"), "utf8")
    assert.include(readme, "`npm run quickstart` runs [`examples/quickstart.ts`]")
    assert.match(readme, /`npm test` runs .*: about 3\s+minutes/)
    assert.match(readme, /EBADENGINE[\s\S]{0,80}expected and harmless/)
    assert.match(readme, /exits with \*\*0\*\*[\s\S]*\*\*1\*\*[\s\S]*\*\*2\*\* for a usage error/)
  })

  it("examples/quickstart.ts runs and shows each feature it claims", () => {
    const result = spawnSync(process.execPath, ["examples/quickstart.ts"], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000
    })
    assert.strictEqual(result.status, 0, result.stderr)
    assert.match(result.stdout, /the_content handlers: trim -> paragraph -> empty-guard/)
    assert.match(result.stdout, /filtered: <p>Hello, hooks!<\/p>/)
    assert.match(result.stdout, /short-circuited by: empty-guard value: \(empty post\)/)
    assert.match(result.stdout, /doAction failed: action "post.saved": 1 handler\(s\) failed: search-index \(Failure\)/)
    assert.match(result.stdout, /\[audit\] post 42 saved/)
  })
})
