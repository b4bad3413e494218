/**
 * A plugin worker thread: runs one instance of a compiled plugin module and answers calls, one at a time. The host
 * terminates it when a call overruns its wall-clock limit.
 *
 * @internal
 */
// Subpath imports: the package index would load every platform module (redis client included).
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as WorkerRunner from "effect/workers/WorkerRunner"
import { PluginCallError } from "../../domain/PluginErrors.ts"
import { Guest } from "../Guest.ts"
import * as HostChannel from "./hostChannel.ts"
import type { FromWorker, ToWorker } from "./protocol.ts"

const encodeError = Schema.encodeSync(PluginCallError)

Effect.gen(function*() {
  const platform = yield* WorkerRunner.WorkerRunnerPlatform
  const runner = yield* platform.start<FromWorker, ToWorker>()
  let guest: Guest | undefined
  let now = 0
  const logs: Array<readonly [number, string]> = []
  yield* runner.run<void, never, never>((port, message) => {
    if (message._tag === "Init") {
      // Sent before the start function runs: booting the thread is not the plugin's time, instantiating it is.
      runner.sendUnsafe(port, { _tag: "Instantiating" })
      const channel = message.channel
      // Each host function is a stand-in that asks the host thread to run it and waits for the answer.
      const forward = channel === undefined ? undefined : HostChannel.caller(channel)
      guest = new Guest(
        message.plugin,
        message.module,
        message.limits,
        {
          log: (level, text) => logs.push([level, text]),
          nowMillis: () => now,
          functions: forward === undefined
            ? undefined
            : new Map(message.hostFunctions.map((name) => [name, forward(name)]))
        }
      )
      const started = guest.start()
      const version = started === undefined ? guest.abiVersion() : started
      runner.sendUnsafe(
        port,
        typeof version === "object"
          ? { _tag: "Ready", trap: encodeError(version), version: undefined }
          : { _tag: "Ready", trap: undefined, version }
      )
      return
    }
    now = message.now
    const result = guest!.call(message.hook, message.payload)
    runner.sendUnsafe(port, {
      _tag: "Result",
      id: message.id,
      result: result._tag === "Ok"
        ? result
        : { _tag: "Err", error: encodeError(result.error), fuelUsed: result.fuelUsed },
      logs: logs.splice(0),
      memoryBytes: guest!.memoryBytes()
    })
  })
}).pipe(Effect.provide(NodeWorkerRunner.layer), NodeRuntime.runMain({ disableErrorReporting: true }))
