#!/usr/bin/env node
/**
 * The `hookbus` executable. Exit code 0 on success, 1 on bad input or a failed hook (after one line on stderr).
 */
// Subpath imports: the package index would load every platform module (redis client included).
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Command } from "effect/cli"
import * as Effect from "effect/Effect"
import { hookbus } from "./Cli.ts"

hookbus.pipe(
  Command.run({ version: "0.1.0" }),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
