/**
 * `hookbus jobs --retry <id>` and `--cancel <id>` as real processes on a real SQLite store, with a runner in this
 * process applying the requests (the CLI runs no handler): the outcome printed, unknown ids and wrong states refused
 * with one line (exit 2), and a request no runner applies withdrawn after `--wait` (exit 1).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { spawn } from "node:child_process"
import { DatabaseSync } from "node:sqlite"
import { fileURLToPath } from "node:url"
import { Hook } from "../src/index.ts"
import { awaitStatus, tempDb, withDurableAt } from "./fixtures/durable/harness.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const PostSaved = Hook.action("post.saved", { args: [Schema.String] })

/** Runs `hookbus jobs ...` without blocking this process (its runner must keep working meanwhile). */
const jobs = (...args: Array<string>) =>
  Effect.callback<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resume) => {
    const child = spawn(process.execPath, ["src/cli/main.ts", "jobs", ...args], { cwd: root })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += String(d)))
    child.stderr.on("data", (d) => (stderr += String(d)))
    child.on("exit", (code) => resume(Effect.succeed({ code, stdout, stderr })))
  })

describe("hookbus jobs --retry / --cancel", () => {
  it.live(
    "a runner applies the CLI's retry and cancel; bad ids and states are one line; no runner: withdrawn",
    () =>
      Effect.gen(function*() {
        const file = yield* tempDb
        let failing = true
        const failed = yield* withDurableAt(file, (bus, durable) =>
          Effect.gen(function*() {
            yield* bus.addAction(
              PostSaved,
              (id) => failing && id === "bad" ? Effect.fail(`no audit for ${id}`) : Effect.void,
              { mode: "durable", source: "audit", retry: { maxAttempts: 1 } }
            )
            const bad = yield* durable.doActionWithId("bad-1", PostSaved, "bad")
            const later = yield* durable.scheduleAction(PostSaved, { delay: "1 hour" }, "later")
            yield* awaitStatus(durable, bad.jobs[0], ["failed"])

            // Wrong states and unknown ids: exit 2, one line, nothing asked.
            const notFailed = yield* jobs("--sqlite", file, "--retry", later.jobs[0])
            assert.deepStrictEqual([notFailed.code, notFailed.stderr.trim()], [
              2,
              `hookbus: cannot retry ${later.jobs[0]}: it is queued (only a failed or cancelled job retries)`
            ])
            const ended = yield* jobs("--sqlite", file, "--cancel", bad.jobs[0])
            assert.deepStrictEqual([ended.code, ended.stderr.trim()], [
              2,
              `hookbus: cannot cancel ${bad.jobs[0]}: it is failed (it already ended)`
            ])
            const unknown = yield* jobs("--sqlite", file, "--cancel", "nope")
            assert.deepStrictEqual([unknown.code, unknown.stderr.trim()], [2, `hookbus: no durable job with id "nope"`])
            const badWait = yield* jobs("--sqlite", file, "--cancel", "a", "--wait", "soon")
            assert.strictEqual(badWait.code, 2)
            assert.include(badWait.stderr, `--wait must be a duration such as 10s, 500ms or 2m, got "soon"`)

            // The runner here applies them.
            failing = false
            const retried = yield* jobs("--sqlite", file, "--retry", bad.jobs[0])
            assert.strictEqual(retried.code, 0, retried.stderr)
            // Its status as the CLI saw it after the runner's retry: the job may already have run.
            assert.match(retried.stdout, new RegExp(`^retried ${bad.jobs[0]} \\(round 1\\): (queued|running|done)\n$`))
            const done = yield* awaitStatus(durable, bad.jobs[0], ["done"])
            assert.strictEqual(done.round, 1)
            const cancelled = yield* jobs("--sqlite", file, "--cancel", later.jobs[0], "--json")
            assert.strictEqual(cancelled.code, 0, cancelled.stderr)
            const json = JSON.parse(cancelled.stdout)
            assert.deepStrictEqual([json.id, json.status], [later.jobs[0], "cancelled"])
            assert.notProperty(json, "request")
            assert.strictEqual((yield* durable.get(later.jobs[0])).status, "cancelled")
            return later.jobs[0]
          }))

        // No runner now: the request is withdrawn after --wait, and says so.
        const alone = yield* jobs("--sqlite", file, "--retry", failed, "--wait", "1s")
        assert.strictEqual(alone.code, 1)
        assert.strictEqual(
          alone.stderr.trim(),
          `hookbus: no runner applied the retry of ${failed} within 1s: is a runner with the durable handler "audit" on "post.saved" running on this store? (the request was withdrawn)`
        )
        const db = new DatabaseSync(file)
        const row = db.prepare("SELECT status, request FROM hookbus_durable_jobs WHERE id = ?").get(failed)
        db.close()
        assert.deepStrictEqual({ ...row }, { status: "cancelled", request: null })
      }),
    120_000
  )
})
