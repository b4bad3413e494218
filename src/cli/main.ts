#!/usr/bin/env node
/**
 * The `hookbus` executable. Exit codes: 0 success, 1 a hook or plugin failed, 2 a usage error (after one line on
 * stderr).
 *
 * SIGINT and SIGTERM end it at once, whatever it is doing. No JavaScript signal listener is installed, on purpose:
 * a listener only runs when the main thread is free, and a guest call, a start function or fuel instrumentation can
 * hold the main thread, so a listener would hold the signal until they finish. The default action ends the process
 * immediately, and the command keeps nothing the operating system does not release.
 */
// Subpath imports: the package index would load every platform module (redis client included).
import * as NodeServices from "@effect/platform-node/NodeServices"
import { CliOutput, Command } from "effect/cli"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import { exitCode, hookbus, presenter } from "./Cli.ts"

/** `NodeRuntime.runMain` without its SIGINT/SIGTERM listeners (see above). */
const runMain = Runtime.makeRunMain(({ fiber, teardown }) => {
  fiber.addObserver((exit) =>
    teardown(exit, (code) => {
      if (code !== 0) process.exit(code)
    })
  )
})

hookbus.pipe(
  Command.run({ version: "0.1.0" }),
  Effect.provide(CliOutput.layerPresenter(presenter)),
  Effect.provide(NodeServices.layer),
  runMain({
    disableErrorReporting: true,
    // Exit only once stdout and stderr are flushed: into a pipe, a large --json result would be cut off otherwise.
    teardown: (exit, onExit) => process.stdout.write("", () => process.stderr.write("", () => onExit(exitCode(exit))))
  })
)
