/** Builds the example plugins (AssemblyScript, C and Rust) once before the tests that load them. */
import { fileURLToPath } from "node:url"
import { buildGuests } from "../scripts/build-guests.ts"
import { buildAll } from "../scripts/build-plugins.ts"

export const setup = async (): Promise<void> => {
  await buildAll()
  // The examples, the Rust fixture that reads a preopened directory (test/Wasi.test.ts), and the C and Rust
  // fixtures that read the manifest's config (test/HostFunctions.test.ts).
  buildGuests(
    ["wasi-files", "config-c", "config-rust"].map((f) => fileURLToPath(new URL(`fixtures/${f}`, import.meta.url)))
  )
}
