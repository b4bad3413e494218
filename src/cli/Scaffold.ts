/**
 * `hookbus new` and `hookbus build`: a plugin author's first two commands. `new` writes a plugin folder (manifest,
 * AssemblyScript source, a test); `build` compiles it with the `@hookbus/assemblyscript` SDK, which brings the
 * compiler, found from the plugin folder, the working directory, or hookbus itself.
 *
 * @since 0.1.0
 */
import { Argument, Command, Flag } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"
import { errorMessage } from "../domain/errorMessage.ts"
import { exitCodes } from "./CommandKit.ts"
import { CliFailure, CliInputError } from "./PluginSet.ts"

const sdkPackage = "@hookbus/assemblyscript"

/** The command's one line on stderr for bad input (the exit code is then non-zero). */
const reported = <A, E extends CliInputError | CliFailure, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tapError(effect, (error) => Console.error(`hookbus: ${error.message}`))
const namePattern = /^[a-z][a-z0-9-]{1,63}$/

/** The SDK's build module, as `@hookbus/assemblyscript/build` declares it. */
interface SdkBuild {
  readonly buildPlugin: (
    folder: string,
    options?: { readonly force?: boolean | undefined }
  ) => Promise<{ readonly wasm: string; readonly built: boolean }>
}

/** The files of a new plugin, by path inside its folder. */
export const scaffold = (name: string): ReadonlyArray<readonly [path: string, content: string]> => [
  [
    "plugin.json",
    `${
      JSON.stringify(
        {
          abi: 1,
          name,
          version: "0.1.0",
          wasm: { path: `build/${name}.wasm` },
          hooks: [{ name: "the_content", kind: "filter" }],
          limits: { memoryPages: 16, fuel: 5_000_000 }
        },
        null,
        2
      )
    }\n`
  ],
  [
    "assembly/index.ts",
    `// ${name}: a hookbus plugin. Each handler gets its hook's value and arguments as JSON values.
import { filter, Result, Value } from "${sdkPackage}"
export { gn_abi_version, gn_alloc, gn_free, gn_handle_hook } from "${sdkPackage}"

filter("the_content", (value: Value, args: Array<Value>): Result => {
  if (!value.isString) return Result.error("the_content must be a string", "E_TYPE")
  return Result.value(Value.string("<p>" + value.asString() + "</p>"))
})
`
  ],
  [
    "assembly/tsconfig.json",
    `${JSON.stringify({ extends: "assemblyscript/std/assembly.json", include: ["./**/*.ts"] }, null, 2)}\n`
  ],
  [
    `test/${name}.test.ts`,
    `// Loads the built plugin on a test bus and applies its filter: node --test ${name}/test/
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Layer } from "effect"
import { Hook, HookBus } from "hookbus"
import { Plugin } from "hookbus/wasm"
import assert from "node:assert/strict"
import { test } from "node:test"
import { fileURLToPath } from "node:url"

const folder = fileURLToPath(new URL("..", import.meta.url))
const TheContent = Hook.filter<string>("the_content")

test("${name} wraps the content in a paragraph", async () => {
  const output = await Effect.gen(function*() {
    yield* Plugin.load(folder)
    const bus = yield* HookBus
    return yield* bus.applyFilters(TheContent, "hello")
  }).pipe(
    Effect.scoped,
    Effect.provide(Layer.fresh(HookBus.layerTest)),
    Effect.provide(NodeServices.layer),
    Effect.runPromise
  )
  assert.equal(output, "<p>hello</p>")
})
`
  ]
]

const create = Command.make(
  "new",
  {
    name: Argument.String("name").pipe(
      Argument.withDescription("The plugin's name, also its folder (lowercase letters, digits and -)")
    )
  },
  (input) =>
    reported(Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const name = path.basename(input.name)
      if (!namePattern.test(name)) {
        return yield* new CliInputError({
          message: `invalid plugin name "${name}": expected ^[a-z][a-z0-9-]{1,63}$ (lowercase letters, digits and -)`
        })
      }
      const folder = path.resolve(input.name)
      if (yield* fs.exists(folder).pipe(Effect.orElseSucceed(() => false))) {
        return yield* new CliInputError({ message: `${folder} already exists: choose another name or folder` })
      }
      for (const [file, content] of scaffold(name)) {
        const target = path.join(folder, file)
        yield* fs.makeDirectory(path.dirname(target), { recursive: true }).pipe(
          Effect.andThen(fs.writeFileString(target, content)),
          Effect.mapError((error) => new CliInputError({ message: `cannot write ${target}: ${error.message}` }))
        )
      }
      yield* Console.log(
        [
          `created plugin ${name} in ${folder}:`,
          ...scaffold(name).map(([file]) => `  ${file}`),
          "next:",
          `  npx hookbus build ${input.name}`,
          `  npx hookbus inspect ${input.name}`,
          `  node --test ${input.name}/test/`
        ].join("\n")
      )
    }))
).pipe(
  Command.withDescription(`Create a plugin folder: manifest, AssemblyScript source and a test. ${exitCodes}`),
  Command.withExamples([{
    command: "hookbus new my-plugin",
    description: "A plugin folder my-plugin/ to edit and build"
  }])
)

/** Finds `@hookbus/assemblyscript/build` from each of `dirs` in turn, then from hookbus itself. */
const findSdk = (dirs: ReadonlyArray<string>): string | undefined => {
  for (const from of [...dirs.map((dir) => `${dir}/noop.js`), import.meta.url]) {
    try {
      return createRequire(from).resolve(`${sdkPackage}/build`)
    } catch {
      // Not installed where this looks: try the next place.
    }
  }
  return undefined
}

const build = Command.make(
  "build",
  {
    folder: Argument.String("folder").pipe(
      Argument.withDescription("A plugin folder with assembly/index.ts (AssemblyScript)")
    ),
    force: Flag.Boolean("force").pipe(
      Flag.withDescription("Rebuild even when the module is newer than its sources"),
      Flag.withDefault(false)
    )
  },
  (input) =>
    reported(Effect.gen(function*() {
      const path = yield* Path.Path
      const folder = path.resolve(input.folder)
      const found = findSdk([folder, process.cwd()])
      if (found === undefined) {
        return yield* new CliInputError({
          message: `hookbus build needs the AssemblyScript SDK: npm install --save-dev ${sdkPackage}`
        })
      }
      const sdk = yield* Effect.tryPromise({
        try: () => import(pathToFileURL(found).href) as Promise<SdkBuild>,
        catch: (error) => new CliInputError({ message: `cannot load ${found}: ${errorMessage(error)}` })
      })
      const result = yield* Effect.tryPromise({
        try: () => sdk.buildPlugin(folder, { force: input.force }),
        // A plugin that does not compile is a failure (exit 1), not a usage error.
        catch: (error) => new CliFailure({ message: errorMessage(error) })
      })
      yield* Console.log(
        `${result.built ? "built" : "up to date"}: ${path.relative(process.cwd(), result.wasm) || result.wasm}`
      )
    }))
).pipe(
  Command.withDescription(`Compile a plugin's AssemblyScript source with @hookbus/assemblyscript. ${exitCodes}`),
  Command.withExamples([{
    command: "hookbus build my-plugin",
    description: "Writes my-plugin/build/my-plugin.wasm; exit 1 if it does not compile"
  }])
)

/** `hookbus new` and `hookbus build`. */
export const commands = [create, build] as const
