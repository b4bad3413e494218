/**
 * The inspector in a real browser: Debian's Chromium (/usr/bin/chromium, `npm run setup:browser`) driven by
 * playwright-core. It starts the blog demo as `npm run demo:server` does (with the inspector next to it), opens the
 * page, finds the demo's hooks, opens `the_content` and reads its chain in run order with the constraint edges,
 * fires a dispatch and sees it in the live tail (and held back while paused), opens its timeline, reads the plugins
 * panel, and saves a screenshot to test/output/inspector.png (the one the README shows). Then an inspector bound to
 * 0.0.0.0 answers the same browser (over 127.0.0.1) with 401 until the printed token is given.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, ManagedRuntime, Schema } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { chromium } from "playwright-core"
import { Durable } from "../src/durable/index.ts"
import { Hook, HookBus } from "../src/index.ts"
import { HookInspector } from "../src/inspector/index.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const output = join(root, "test", "output")
const executablePath = "/usr/bin/chromium"

const launch = (userDataDir: string) =>
  chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ]
  })

/** Starts the demo as `npm run demo:server` does; resolves with the blog's and the inspector's addresses. */
const startDemo = (child: ChildProcess, log: { text: string }) =>
  new Promise<{ readonly blog: string; readonly inspector: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${log.text}`)), 90_000)
    child.once("exit", (code) => reject(new Error(`demo exited (${code}) before listening:\n${log.text}`)))
    const check = setInterval(() => {
      const blog = /blog-server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log.text)
      const inspector = /hookbus inspector on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(log.text)
      if (blog && inspector) {
        clearInterval(check)
        clearTimeout(timer)
        resolve({ blog: blog[1], inspector: inspector[1] })
      }
    }, 50)
  })

describe("the inspector page in Chromium", () => {
  it(
    "shows the demo's hooks, the_content's chain in order, a live dispatch and its timeline; needs the token on 0.0.0.0",
    async () => {
      assert.isTrue(existsSync(executablePath), `no ${executablePath}: run npm run setup:browser`)
      mkdirSync(output, { recursive: true })
      const userDataDir = mkdtempSync(join(tmpdir(), "hookbus-chromium-"))
      // The exposed inspector's bus has a durable handler, to see the mode on the page.
      const jobsDir = mkdtempSync(join(tmpdir(), "hookbus-inspector-jobs-"))
      const ExposedSaved = Hook.action("exposed.saved", { args: [Schema.String] })
      const durableHandler = Layer.effectDiscard(
        HookBus.use((bus) =>
          bus.addAction(ExposedSaved, () => Effect.void, { mode: "durable", source: "exposed:audit" })
        )
      )
      const child = spawn(process.execPath, ["examples/blog-server/main.ts"], {
        cwd: root,
        env: { ...process.env, PORT: "0", INSPECTOR_PORT: "0" }
      })
      const log = { text: "" }
      child.stdout!.on("data", (c) => (log.text += c))
      child.stderr!.on("data", (c) => (log.text += c))
      const context = await launch(userDataDir)
      const exposed = ManagedRuntime.make(
        Layer.mergeAll(
          HookInspector.layer({ port: 0, host: "0.0.0.0", announce: false }),
          durableHandler
        ).pipe(
          Layer.provideMerge(
            Layer.mergeAll(HookBus.layer, Durable.layerSqlite({ filename: join(jobsDir, "jobs.db") }))
          )
        )
      )
      try {
        const { blog, inspector } = await startDemo(child, log)
        await fetch(`${blog}/posts/1`)
        const page = context.pages()[0] ?? await context.newPage()
        await page.goto(inspector)

        // The demo's hooks, with their kinds.
        await page.locator(`#hooks-body tr[data-hook="the_content"]`).waitFor()
        const hooks = await page.locator("#hooks-body tr").evaluateAll((rows) =>
          rows.map((r) => `${(r as HTMLElement).dataset.kind} ${(r as HTMLElement).dataset.hook}`)
        )
        for (const hook of ["filter the_content", "action post.viewed", "action post.saved", "filter post.slug"]) {
          assert.include(hooks, hook)
        }
        await page.fill("#search", "slug")
        assert.deepStrictEqual(await page.locator("#hooks-body tr").evaluateAll((rows) => rows.length), 1)
        await page.fill("#search", "")

        // the_content's chain: uppercase, then reading-time (after uppercase), then the article wrapper (after it).
        await page.locator(`#hooks-body tr[data-hook="the_content"]`).click()
        await page.locator(`[data-testid="chain-item"]`).first().waitFor()
        assert.strictEqual(await page.textContent(`[data-testid="detail-name"]`), "the_content")
        const chain = await page.locator(`[data-testid="chain-item"]`).evaluateAll((items) =>
          items.map((i) => (i as HTMLElement).dataset.source)
        )
        assert.deepStrictEqual(chain, ["plugin:uppercase", "plugin:reading-time", "blog:article"])
        const edges = await page.locator("path.edge").evaluateAll((paths) =>
          paths.map((p) => p.getAttribute("data-edge"))
        )
        assert.deepStrictEqual(edges.sort(), [
          "plugin:reading-time -> blog:article",
          "plugin:uppercase -> plugin:reading-time"
        ])

        // A dispatch fired now appears in the live tail, value in and out.
        await page.locator("#status", { hasText: "live" }).waitFor()
        await fetch(`${blog}/posts/2`)
        const live = page.locator(`[data-testid="tail-item"][data-hook="the_content"]`, {
          hasText: "PLUGINS BRING THEIR OWN BEHAVIOUR"
        })
        await live.first().waitFor()
        assert.include(await live.first().textContent(), "\"plugins bring their own behaviour")

        // Paused, a dispatch is held back (and counted); resumed, it is shown.
        await page.click("#pause")
        const before = await page.locator(`[data-testid="tail-item"]`).count()
        await fetch(`${blog}/posts/1`)
        await page.locator("#pause", { hasText: /Resume \(\d+ new\)/ }).waitFor()
        assert.strictEqual(await page.locator(`[data-testid="tail-item"]`).count(), before)
        await page.click("#pause")
        await page.waitForFunction((n) => document.querySelectorAll(`[data-testid="tail-item"]`).length > n, before)

        // One dispatch's handlers on a timeline, in the order they ran.
        await live.first().click()
        await page.locator(`[data-testid="flame-bar"]`).first().waitFor()
        const bars = await page.locator(`[data-testid="flame-bar"]`).evaluateAll((lanes) =>
          lanes.map((l) => (l as HTMLElement).dataset.source)
        )
        assert.deepStrictEqual(bars, chain)

        // The plugins panel: every bundled plugin, its breaker closed, no reload button (off by default).
        await page.locator(`#plugins-body tr[data-plugin="uppercase"]`).waitFor()
        const plugins = await page.locator("#plugins-body tr").evaluateAll((rows) =>
          rows.map((r) => (r as HTMLElement).dataset.plugin)
        )
        assert.deepStrictEqual([...plugins].sort(), ["audit", "reading-time", "slugify", "uppercase"])
        assert.include(await page.textContent(`#plugins-body tr[data-plugin="uppercase"]`), "closed")
        assert.strictEqual(await page.locator("#plugins-body button").count(), 0)
        assert.match(await page.textContent(`#plugins-body tr[data-plugin="uppercase"]`) ?? "", /\d+ \/ 64/)
        await page.screenshot({ path: join(output, "inspector.png"), fullPage: true })

        // An async handler's mode, with the bus's bound on runs in flight.
        await page.locator(`#hooks-body tr[data-hook="post.viewed"]`).click()
        await page.locator(`[data-testid="chain-item"][data-source="blog:view-counter"]`).waitFor()
        const viewed = await page.textContent(`[data-testid="chain-item"][data-source="blog:view-counter"] .mode`)
        assert.strictEqual(viewed, "async · bounded: 1024 in flight, then wait")

        // Bound to 0.0.0.0: the browser, over 127.0.0.1, gets 401 until it brings the token.
        const exposedInspector = await exposed.runPromise(
          Effect.gen(function*() {
            yield* HookBus.use((bus) => bus.applyFilters(Hook.filter<string>("exposed_hook"), "x"))
            return yield* HookInspector.use(Effect.succeed)
          })
        )
        const base = `http://127.0.0.1:${exposedInspector.port}`
        const denied = await page.goto(`${base}/`)
        assert.strictEqual(denied?.status(), 401)
        assert.include(await page.textContent("body"), "a token is required")
        assert.strictEqual((await page.goto(`${base}/api/hooks`))?.status(), 401)
        await page.goto(`${base}/?token=${exposedInspector.token}`)
        assert.strictEqual(page.url(), `${base}/`)
        await page.locator(`#hooks-body tr[data-hook="exposed_hook"]`).waitFor()
        // A durable handler shows as durable.
        await page.locator(`#hooks-body tr[data-hook="exposed.saved"]`).click()
        const durable = page.locator(`[data-testid="chain-item"][data-source="exposed:audit"] .mode`)
        await durable.waitFor()
        assert.strictEqual(await durable.textContent(), "durable")
        assert.strictEqual((await page.goto(`${base}/api/hooks`))?.status(), 200)
      } finally {
        await context.close()
        await exposed.dispose()
        child.kill("SIGKILL")
        rmSync(userDataDir, { recursive: true, force: true })
        rmSync(jobsDir, { recursive: true, force: true })
      }
    },
    180_000
  )
})
