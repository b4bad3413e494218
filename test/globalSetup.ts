/** Builds the example plugins (and AssemblyScript fixtures) once before the tests that load them. */
import { buildAll } from "../scripts/build-plugins.ts"

export const setup = async (): Promise<void> => {
  await buildAll()
}
