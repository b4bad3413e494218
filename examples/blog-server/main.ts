/**
 * Starts the blog server: `npm run demo:server` (PORT=3000 by default), and the hook inspector next to it
 * (INSPECTOR_PORT=4400 by default, "off" for none), each printing its address. Ctrl-C shuts it down gracefully: the HTTP
 * server stops, then the bus drains its async handlers. A port in use or a bad PORT is one line and exit code 1.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer } from "effect"
import { inspectorFromEnv, portFromEnv, server, startupError } from "./server.ts"

Effect.gen(function*() {
  const [port, inspector] = yield* Effect.all([portFromEnv, inspectorFromEnv]).pipe(
    Effect.tapError((error) => Console.error(`blog-server: ${error.message}`))
  )
  return yield* Layer.launch(server(port, inspector)).pipe(
    Effect.tapError((error) => Console.error(`blog-server: ${startupError(port, error)}`))
  )
}).pipe(NodeRuntime.runMain({ disableErrorReporting: true }))
