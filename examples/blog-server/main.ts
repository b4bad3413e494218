/**
 * Starts the blog server: `npm run demo:server` (PORT=3000 by default). Ctrl-C shuts it down gracefully: the HTTP
 * server stops, then the bus drains its async handlers.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { portFromEnv, server } from "./server.ts"

Layer.launch(server(portFromEnv())).pipe(NodeRuntime.runMain)
