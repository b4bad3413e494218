/** Builds the example plugins (AssemblyScript, C and Rust) once before the tests that load them. */
import { buildGuests } from "../scripts/build-guests.ts"
import { buildAll } from "../scripts/build-plugins.ts"

export const setup = async (): Promise<void> => {
  await buildAll()
  buildGuests()
}
