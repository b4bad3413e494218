/** Builds the example plugins (AssemblyScript, C and Rust) once before the tests that load them. */
import { fileURLToPath } from "node:url"
import { buildGuests } from "../scripts/build-guests.ts"
import { buildAll } from "../scripts/build-plugins.ts"

export const setup = async (): Promise<void> => {
  await buildAll()
  // The examples, and the Rust fixture that reads a preopened directory (test/Wasi.test.ts).
  buildGuests([fileURLToPath(new URL("fixtures/wasi-files", import.meta.url))])
}
