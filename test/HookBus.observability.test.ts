import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Layer, Metric, References, Tracer } from "effect"
import { FetchHttpClient } from "effect/http"
import { OtlpSerialization, OtlpTracer, PrometheusMetrics } from "effect/observability"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as TraceTree from "../src/cli/TraceTree.ts"
import { Hook, HookBus, type HookBusOptions, type HookBusShape, HookMetrics, HookRecorder } from "../src/index.ts"

const TheContent = Hook.filter<string>("the_content")
const Saved = Hook.action<[id: string]>("post.saved")

/** A tracer that keeps every span it makes (the one `hookbus run --trace` uses). */
const recordingTracer = TraceTree.recorder

const attr = (span: Tracer.Span, key: string) => span.attributes.get(key)
const parentName = (span: Tracer.Span) =>
  span.parent._tag === "Some" && span.parent.value._tag === "Span" ? span.parent.value.name : undefined

/** Runs `f` with a fresh bus and an isolated metric registry; returns what `f` returns and the registry. */
const withBus = <A, E, R>(
  options: HookBusOptions,
  f: (bus: HookBusShape, registry: Metric.MetricRegistry) => Effect.Effect<A, E, R>
) => {
  const registry: Metric.MetricRegistry = new Map()
  return HookBus.use((bus) => f(bus, registry)).pipe(
    Effect.provide(Layer.fresh(HookBus.layerWith(options))),
    Effect.provideService(Metric.MetricRegistry, registry),
    Effect.map((a) => [a, registry] as const)
  )
}

/** The value of a counter or gauge series with exactly these attributes. */
const seriesValue = (registry: Metric.MetricRegistry, id: string, attributes: Record<string, string>) =>
  Effect.map(Metric.snapshot.pipe(Effect.provideService(Metric.MetricRegistry, registry)), (all) => {
    const found = all.find((m) =>
      m.id === id && Object.keys(attributes).length === Object.keys(m.attributes ?? {}).length &&
      Object.entries(attributes).every(([k, v]) => (m.attributes as Record<string, string> | undefined)?.[k] === v)
    )
    return found?.state as { count?: number; value?: number } | undefined
  })

describe("tracing", () => {
  it.effect("dispatch mode: one span per dispatch, child of the caller's, with attributes and failure events", () => {
    const { spans, tracer } = recordingTracer()
    return withBus({ filterErrors: { the_content: "skip" } }, (bus) =>
      Effect.gen(function*() {
        yield* bus.addFilter(TheContent, (s) => Effect.succeed(`${s}!`), { source: "bang" })
        yield* bus.addFilter(TheContent, () => Effect.fail("nope"), { source: "broken" })
        yield* bus.addFilter(TheContent, (s) => s.length > 5 ? Hook.shortCircuit(s) : Effect.succeed(s), {
          source: "guard"
        })
        yield* bus.applyFilters(TheContent, "hello").pipe(Effect.withSpan("request"))
        yield* bus.applyFilters(TheContent, "hi").pipe(Effect.withSpan("request"))
      })).pipe(
        Effect.provideService(Tracer.Tracer, tracer),
        Effect.map(() => {
          const dispatches = spans.filter((s) => s.name === "hook.filter the_content")
          assert.strictEqual(dispatches.length, 2)
          const [first, second] = dispatches
          assert.strictEqual(parentName(first), "request")
          assert.strictEqual(attr(first, "hook.name"), "the_content")
          assert.strictEqual(attr(first, "hook.kind"), "filter")
          assert.strictEqual(attr(first, "hook.handlers"), 3)
          assert.strictEqual(attr(first, "hook.outcome"), "short_circuit")
          assert.strictEqual(attr(first, "hook.short_circuited_by"), "guard")
          assert.strictEqual(attr(second, "hook.outcome"), "ok")
          assert.isUndefined(attr(second, "hook.short_circuited_by"))
          assert.strictEqual(first.status._tag, "Ended")
          const events = first.events.filter(([name]) => name === "hook.handler_failed")
          assert.strictEqual(events.length, 1)
          assert.strictEqual(events[0][2]?.["hook.source"], "broken")
          assert.strictEqual(events[0][2]?.["hook.reason"], "Failure")
          assert.isFalse(spans.some((s) => s.name.startsWith("hook.handler")))
        })
      )
  })

  it.effect("each dispatch reads its own caller's context: parent, tracer, annotations and timing", () => {
    const first = recordingTracer()
    const second = recordingTracer()
    return withBus({}, (bus) =>
      Effect.gen(function*() {
        yield* bus.addFilter(TheContent, (s) => Effect.succeed(s))
        yield* TestClock.adjust("1 second")
        // Alternating contexts: what one dispatch read must not leak into the next.
        yield* bus.applyFilters(TheContent, "1").pipe(Effect.withSpan("a"))
        yield* bus.applyFilters(TheContent, "2").pipe(Effect.withSpan("b"))
        yield* bus.applyFilters(TheContent, "3")
        yield* bus.applyFilters(TheContent, "4").pipe(Effect.annotateSpans("tenant", "t1"), Effect.withSpan("a"))
        yield* bus.applyFilters(TheContent, "5").pipe(Effect.withTracerTiming(false))
        yield* bus.applyFilters(TheContent, "6").pipe(Effect.withTracer(second.tracer))
        yield* bus.applyFilters(TheContent, "7").pipe(Effect.withSpan("b"))
      })).pipe(
        Effect.provideService(Tracer.Tracer, first.tracer),
        Effect.map(() => {
          const dispatches = first.spans.filter((s) => s.name === "hook.filter the_content")
          assert.deepStrictEqual(dispatches.map(parentName), ["a", "b", undefined, "a", undefined, "b"])
          assert.deepStrictEqual(dispatches.map((s) => attr(s, "tenant")), [
            undefined,
            undefined,
            undefined,
            "t1",
            undefined,
            undefined
          ])
          assert.deepStrictEqual(dispatches.map((s) => s.startTime), [1e9, 1e9, 1e9, 1e9, 0, 1e9].map(BigInt))
          assert.deepStrictEqual(second.spans.map((s) => s.name), ["hook.filter the_content"])
        })
      )
  })

  it.effect("a failed dispatch is marked failed", () => {
    const { spans, tracer } = recordingTracer()
    return withBus({}, (bus) =>
      Effect.gen(function*() {
        yield* bus.addAction(Saved, () => Effect.die("boom"), { source: "dies" })
        yield* Effect.flip(bus.doAction(Saved, "1"))
      })).pipe(
        Effect.provideService(Tracer.Tracer, tracer),
        Effect.map(() => {
          const [span] = spans.filter((s) => s.name === "hook.action post.saved")
          assert.strictEqual(attr(span, "hook.outcome"), "failed")
          assert.strictEqual(span.events[0][2]?.["hook.reason"], "Defect")
        })
      )
  })

  it.effect("handlers mode: one child span per handler; a handler's own spans nest under it", () => {
    const { spans, tracer } = recordingTracer()
    return withBus({ tracing: "handlers" }, (bus) =>
      Effect.gen(function*() {
        yield* bus.addFilter(TheContent, (s) => Effect.succeed(s.trim()), { source: "trim" })
        yield* bus.addFilter(TheContent, (s) => Effect.succeed(s.toUpperCase()).pipe(Effect.withSpan("inner-work")), {
          source: "upper"
        })
        assert.strictEqual(yield* bus.applyFilters(TheContent, " a "), "A")
      })).pipe(
        Effect.provideService(Tracer.Tracer, tracer),
        Effect.map(() => {
          const handlerSpans = spans.filter((s) => s.name.startsWith("hook.handler"))
          assert.deepStrictEqual(handlerSpans.map((s) => s.name), ["hook.handler trim", "hook.handler upper"])
          for (const span of handlerSpans) assert.strictEqual(parentName(span), "hook.filter the_content")
          assert.strictEqual(parentName(spans.find((s) => s.name === "inner-work")!), "hook.handler upper")
        })
      )
  })

  it.effect("an async handler runs in its own span, linked to the dispatch span rather than its child", () => {
    const { spans, tracer } = recordingTracer()
    return withBus({}, (bus) =>
      Effect.gen(function*() {
        const done = yield* Deferred.make<void>()
        yield* bus.addAction(Saved, () => Deferred.succeed(done, void 0), { source: "audit", mode: "async" })
        yield* bus.doAction(Saved, "1")
        yield* Deferred.await(done)
        yield* bus.awaitIdle
      })).pipe(
        Effect.provideService(Tracer.Tracer, tracer),
        Effect.map(() => {
          const dispatch = spans.find((s) => s.name === "hook.action post.saved")!
          const async = spans.find((s) => s.name === "hook.handler audit")!
          assert.isDefined(async)
          assert.strictEqual(async.parent._tag, "None")
          assert.strictEqual(async.links.length, 1)
          assert.strictEqual(async.links[0].span, dispatch)
          assert.strictEqual(async.status._tag, "Ended")
        })
      )
  })

  it.effect("off: no span objects at all, and handlers see the caller's span unchanged", () => {
    const { spans, tracer } = recordingTracer()
    return withBus({ tracing: "off", metrics: false }, (bus) =>
      Effect.gen(function*() {
        yield* bus.addFilter(TheContent, (s) => Effect.map(Effect.currentSpan, (span) => `${s}:${span.name}`))
        yield* bus.addAction(Saved, () => Effect.void, { mode: "async" })
        const result = yield* bus.applyFilters(TheContent, "x").pipe(Effect.withSpan("caller"))
        yield* bus.doAction(Saved, "1")
        yield* bus.awaitIdle
        return result
      })).pipe(
        Effect.provideService(Tracer.Tracer, tracer),
        Effect.map(([result]) => {
          assert.strictEqual(result, "x:caller")
          assert.deepStrictEqual(spans.map((s) => s.name), ["caller"])
        })
      )
  })
})

describe("tracing under Effect's own tracer: the dispatch span is made when something can see it", () => {
  // No tracer is installed here: `Tracer.nativeTracer` exports nothing, so the bus makes a dispatch span only for a
  // handler, child span, link or event that sees it. Whatever sees it must find the span an installed tracer gets.
  const seen = (into: Array<Tracer.Span>) => (s: string) =>
    Effect.map(Effect.currentSpan, (span) => {
      into.push(span)
      return s
    })

  it.effect("an Effect handler sees the dispatch span, child of the caller's, ended with its attributes", () => {
    const spans: Array<Tracer.Span> = []
    return withBus({}, (bus) =>
      Effect.gen(function*() {
        assert.strictEqual(yield* Effect.tracer, Tracer.nativeTracer)
        yield* bus.addFilter(TheContent, (s) => Effect.succeed(`${s}!`), { source: "bang" })
        // An Effect.sync handler first, so the chain enters the fiber before anything asked for the span.
        yield* bus.addFilter(TheContent, (s) => Effect.sync(() => s.toUpperCase()), { source: "upper" })
        yield* bus.addFilter(TheContent, seen(spans), { source: "reader" })
        const out = yield* bus.applyFilters(TheContent, "hi").pipe(Effect.withSpan("request"))
        assert.strictEqual(out, "HI!")
        // The reader first in the chain: the span is there from the start of the chain's context.
        yield* bus.addFilter(TheContent, seen(spans), { source: "first", priority: 1 })
        yield* bus.applyFilters(TheContent, "yo").pipe(Effect.withSpan("request"))
      })).pipe(Effect.map(() => {
        assert.strictEqual(spans.length, 3)
        for (const span of spans) {
          assert.strictEqual(span.name, "hook.filter the_content")
          assert.strictEqual(parentName(span), "request")
          assert.strictEqual(span.status._tag, "Ended")
          assert.strictEqual(attr(span, "hook.name"), "the_content")
          assert.strictEqual(attr(span, "hook.outcome"), "ok")
        }
        assert.strictEqual(attr(spans[0], "hook.handlers"), 3)
        assert.strictEqual(attr(spans[1], "hook.handlers"), 4)
        // One span per dispatch, whoever asks.
        assert.strictEqual(spans[1], spans[2])
      }))
  })

  it.effect("a span made late still starts when the dispatch started, on the wall clock", () => {
    const spans: Array<Tracer.Span> = []
    return withBus({}, (bus) =>
      Effect.gen(function*() {
        // The wall clock set back: it no longer agrees with the monotonic clock (which never goes back).
        yield* TestClock.setTime(10_000)
        yield* TestClock.setTime(5_000)
        yield* bus.addFilter(TheContent, (s) => Effect.as(TestClock.adjust("2 seconds"), s), { source: "slow" })
        yield* bus.addFilter(TheContent, seen(spans), { source: "reader" })
        yield* bus.applyFilters(TheContent, "x")
      })).pipe(Effect.map(() => {
        const [span] = spans
        assert.strictEqual(span.status._tag, "Ended")
        if (span.status._tag !== "Ended") return
        assert.strictEqual(span.status.startTime, 5_000_000_000n)
        assert.strictEqual(span.status.endTime, 7_000_000_000n)
      }))
  })

  it.effect("an async handler's span links to the dispatch span; a failure is an event on it", () => {
    const asyncSpans: Array<Tracer.Span> = []
    const dispatchSpans: Array<Tracer.Span> = []
    return withBus({}, (bus) =>
      Effect.gen(function*() {
        yield* bus.addAction(Saved, () => Effect.asVoid(seen(asyncSpans)("")), { source: "audit", mode: "async" })
        yield* bus.addAction(Saved, () => Effect.fail("nope"), { source: "broken" })
        yield* bus.addAction(Saved, () => Effect.asVoid(seen(dispatchSpans)("")), { source: "reader" })
        yield* Effect.flip(bus.doAction(Saved, "p1"))
        yield* bus.awaitIdle
      })).pipe(Effect.map(() => {
        const [dispatch] = dispatchSpans
        const [async] = asyncSpans
        assert.strictEqual(dispatch.name, "hook.action post.saved")
        assert.strictEqual(async.name, "hook.handler audit")
        assert.strictEqual(async.links[0].span, dispatch)
        assert.strictEqual(attr(dispatch, "hook.outcome"), "failed")
        assert.instanceOf(dispatch, Tracer.NativeSpan)
        const events = (dispatch as Tracer.NativeSpan).events.filter(([name]) => name === "hook.handler_failed")
        assert.deepStrictEqual(events.map(([, , attributes]) => attributes?.["hook.source"]), ["broken"])
      }))
  })
})

describe("metrics", () => {
  it.effect("dispatch, duration, failure, short-circuit, in-flight and drop series with fixed labels", () =>
    withBus({ async: { concurrency: 1, overflow: "drop" } }, (bus, registry) =>
      Effect.gen(function*() {
        const value = (id: string, attributes: Record<string, string>) => seriesValue(registry, id, attributes)
        const release = yield* Deferred.make<void>()
        yield* bus.addFilter(TheContent, (s) => s === "stop" ? Hook.shortCircuit(s) : Effect.succeed(s), {
          source: "guard"
        })
        yield* bus.addAction(Saved, () => Effect.fail("nope"), { source: "fails" })
        yield* bus.addAction(Saved, () => Deferred.await(release), { source: "slow", mode: "async" })
        yield* bus.applyFilters(TheContent, "go")
        yield* bus.applyFilters(TheContent, "stop")
        yield* Effect.flip(bus.doAction(Saved, "1"))
        yield* Effect.flip(bus.doAction(Saved, "2"))
        assert.strictEqual((yield* value("hookbus_async_in_flight", {}))?.value, 1)
        yield* Deferred.succeed(release, void 0)
        yield* bus.awaitIdle
        assert.strictEqual((yield* value("hookbus_async_in_flight", {}))?.value, 0)
        assert.strictEqual((yield* value("hookbus_dispatch_total", { hook: "the_content", kind: "filter" }))?.count, 2)
        assert.strictEqual((yield* value("hookbus_dispatch_total", { hook: "post.saved", kind: "action" }))?.count, 2)
        assert.strictEqual(
          (yield* value("hookbus_dispatch_duration_seconds", { hook: "the_content", kind: "filter" }))?.count,
          2
        )
        assert.strictEqual((yield* value("hookbus_short_circuit_total", { hook: "the_content" }))?.count, 1)
        assert.strictEqual(
          (yield* value("hookbus_handler_failures_total", {
            hook: "post.saved",
            kind: "action",
            source: "fails",
            reason: "failure"
          }))?.count,
          2
        )
        assert.strictEqual((yield* value("hookbus_async_dropped_total", { hook: "post.saved" }))?.count, 1)
      })))

  it.effect("the duration series gets each dispatch once, timed from its start, whether it leaves the hot loop or not", () =>
    Effect.forEach(
      [{ tracing: "off" as const }, {}],
      (options) =>
        withBus(options, (bus, registry) =>
          Effect.gen(function*() {
            yield* bus.addFilter(TheContent, (s) => Effect.succeed(s), { source: "spot" })
            // Takes two (test) seconds when asked to, in the fiber: the dispatch leaves its hot loop there.
            yield* bus.addFilter(
              TheContent,
              (s) => s === "slow" ? Effect.as(TestClock.adjust("2 seconds"), s) : Effect.succeed(s),
              {
                source: "slow"
              }
            )
            yield* bus.applyFilters(TheContent, "fast")
            yield* bus.applyFilters(TheContent, "slow")
            const all = yield* Metric.snapshot.pipe(Effect.provideService(Metric.MetricRegistry, registry))
            const duration = all.find((m) => m.id === "hookbus_dispatch_duration_seconds")
            const state = duration?.state as { count: number; sum: number } | undefined
            assert.strictEqual(state?.count, 2)
            assert.strictEqual(state?.sum, 2)
            assert.strictEqual(
              (yield* seriesValue(registry, "hookbus_dispatch_total", { hook: "the_content", kind: "filter" }))?.count,
              2
            )
          })),
      { discard: true }
    ))

  it.effect("series stay right whatever happens to the registry: shared by buses, cleared, entries removed", () =>
    Effect.gen(function*() {
      // The bus keeps each series' registry entry and updates it directly; this pins that it notices when the
      // entry goes (a cleared registry, a removed metric) and that two buses on one registry share a series.
      const ops = fc.array(fc.constantFrom("a", "b", "clear", "remove"), { maxLength: 40 })
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(ops, (steps) =>
            Effect.runPromise(Effect.scoped(Effect.gen(function*() {
              const registry: Metric.MetricRegistry = new Map()
              const build = Layer.build(Layer.fresh(HookBus.layerWith({ tracing: "off" }))).pipe(
                Effect.provideService(Metric.MetricRegistry, registry),
                Effect.map((context) => Context.get(context, HookBus))
              )
              const buses = { a: yield* build, b: yield* build }
              for (const bus of [buses.a, buses.b]) yield* bus.addFilter(TheContent, (s) => Effect.succeed(s))
              const dispatches = HookMetrics.dispatchTotalOf("the_content", "filter")
              const durations = HookMetrics.dispatchDurationOf("the_content", "filter")
              let expected = 0
              for (const step of steps) {
                if (step === "clear") {
                  registry.clear()
                  expected = 0
                } else if (step === "remove") {
                  for (const [key, metadata] of registry) {
                    if (metadata.id === "hookbus_dispatch_total") registry.delete(key)
                  }
                  expected = 0
                } else {
                  yield* buses[step].applyFilters(TheContent, "x")
                  expected++
                }
              }
              const read = <S>(metric: Metric.Metric<number, S>) =>
                Metric.value(metric).pipe(Effect.provideService(Metric.MetricRegistry, registry))
              assert.strictEqual((yield* read(dispatches)).count, expected)
              // The histogram was removed only by `clear`: it counts since the last one.
              const lastClear = steps.lastIndexOf("clear")
              const sinceClear = steps.slice(lastClear + 1).filter((step) => step === "a" || step === "b").length
              assert.strictEqual((yield* read(durations)).count, sinceClear)
            })))),
          { numRuns: 60 }
        )
      )
    }))

  it.effect("hook labels are bounded: names past the bound count under `other`", () =>
    withBus(
      { metrics: { maxHookLabels: 2 } },
      (bus) => Effect.forEach(["a", "b", "c", "d", "a"], (name) => bus.doAction(Hook.action(name)), { discard: true })
    ).pipe(
      Effect.flatMap(([, registry]) =>
        Effect.gen(function*() {
          const count = (hook: string) =>
            Effect.map(seriesValue(registry, "hookbus_dispatch_total", { hook, kind: "action" }), (s) => s?.count)
          assert.deepStrictEqual(
            [yield* count("a"), yield* count("b"), yield* count("other"), yield* count("c")],
            [2, 1, 2, undefined]
          )
        })
      )
    ))

  it.effect("metrics: false records nothing", () =>
    withBus({ metrics: false }, (bus) => bus.doAction(Saved, "1")).pipe(
      Effect.map(([, registry]) =>
        assert.strictEqual([...registry.keys()].filter((k) => k.includes("hookbus")).length, 0)
      )
    ))

  it.effect("Prometheus text exposes the series under their fixed names", () =>
    withBus({}, (bus) =>
      Effect.gen(function*() {
        yield* bus.addFilter(TheContent, (s) => Effect.succeed(s))
        yield* bus.applyFilters(TheContent, "a")
        yield* bus.applyFilters(TheContent, "b")
      })).pipe(
        Effect.flatMap(([, registry]) =>
          PrometheusMetrics.format().pipe(Effect.provideService(Metric.MetricRegistry, registry))
        ),
        Effect.map((text) => {
          assert.include(text, "# TYPE hookbus_dispatch_total counter")
          assert.match(text, /hookbus_dispatch_total\{hook="the_content",kind="filter"\} 2/)
          assert.match(text, /hookbus_dispatch_duration_seconds_count\{hook="the_content",kind="filter"\} 2/)
        })
      ))

  it("metric names are the documented ones", () => {
    assert.deepStrictEqual(
      [
        HookMetrics.dispatchTotal.id,
        HookMetrics.dispatchDuration.id,
        HookMetrics.handlerFailuresTotal.id,
        HookMetrics.shortCircuitTotal.id,
        HookMetrics.asyncInFlight.id,
        HookMetrics.asyncDroppedTotal.id
      ],
      [
        "hookbus_dispatch_total",
        "hookbus_dispatch_duration_seconds",
        "hookbus_handler_failures_total",
        "hookbus_short_circuit_total",
        "hookbus_async_in_flight",
        "hookbus_async_dropped_total"
      ]
    )
  })
})

describe("OTLP export", () => {
  it.live("the dispatch span reaches an OTLP receiver with its attributes", () =>
    Effect.gen(function*() {
      const bodies: Array<any> = []
      const server = createServer((req, res) => {
        let body = ""
        req.on("data", (chunk) => (body += chunk))
        req.on("end", () => {
          if (req.url === "/v1/traces") bodies.push(JSON.parse(body))
          res.writeHead(200, { "content-type": "application/json" }).end("{}")
        })
      })
      yield* Effect.acquireRelease(
        Effect.callback<void>((resume) => {
          server.listen(0, "127.0.0.1", () => resume(Effect.void))
        }),
        () =>
          Effect.callback<void>((resume) => {
            server.close(() => resume(Effect.void))
          })
      )
      const port = (server.address() as AddressInfo).port
      const Otlp = OtlpTracer.layer({
        url: `http://127.0.0.1:${port}/v1/traces`,
        resource: { serviceName: "hookbus-test" },
        exportInterval: "50 millis"
      }).pipe(Layer.provide(OtlpSerialization.layerJson), Layer.provide(FetchHttpClient.layer))

      yield* HookBus.use((bus) =>
        Effect.gen(function*() {
          yield* bus.addFilter(TheContent, (s) => Effect.succeed(s.toUpperCase()), { source: "upper" })
          yield* bus.applyFilters(TheContent, "hi")
        })
      ).pipe(Effect.provide(Layer.fresh(HookBus.layer)), Effect.provide(Otlp))

      const spans = bodies.flatMap((b) =>
        b.resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans))
      )
      const span = spans.find((s: any) => s.name === "hook.filter the_content")
      assert.isDefined(span, `spans received: ${spans.map((s: any) => s.name).join(", ")}`)
      const attributes = Object.fromEntries(
        span.attributes.map((a: any) => [a.key, a.value.stringValue ?? a.value.intValue])
      )
      assert.strictEqual(attributes["hook.name"], "the_content")
      assert.strictEqual(attributes["hook.outcome"], "ok")
      assert.strictEqual(String(attributes["hook.handlers"]), "1")
    }))
})

describe("HookBus.layerTest", () => {
  it.effect("records every dispatch: hook, kind, input, outcome and the handlers that ran", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const recorder = yield* HookRecorder
      yield* bus.addFilter(TheContent, (s) => Effect.succeed(`${s}!`), { source: "bang" })
      yield* bus.addFilter(TheContent, (s) => Hook.shortCircuit(s), { source: "stop" })
      yield* bus.addFilter(TheContent, (s) => Effect.succeed(s), { source: "never" })
      yield* bus.addAction(Saved, () => Effect.fail("x"), { source: "bad" })
      yield* bus.applyFilters(TheContent, "hi")
      yield* Effect.flip(bus.doAction(Saved, "42"))
      const records = yield* recorder.records
      assert.strictEqual(records.length, 2)
      assert.deepInclude(records[0], {
        hook: "the_content",
        kind: "filter",
        value: "hi",
        outcome: "short_circuit",
        result: "hi!",
        shortCircuitedBy: "stop"
      })
      assert.deepStrictEqual(records[0].handlers, ["bang", "stop"])
      assert.deepInclude(records[1], { hook: "post.saved", kind: "action", outcome: "failed" })
      assert.deepStrictEqual(records[1].args, ["42"])
      assert.deepStrictEqual(records[1].failures.map((f) => f.source), ["bad"])
      assert.deepStrictEqual((yield* recorder.recordsOf("post.saved")).length, 1)
      yield* recorder.clear
      assert.deepStrictEqual(yield* recorder.records, [])
    }).pipe(Effect.provide(Layer.fresh(HookBus.layerTest))))
})

describe("thicker: context through sync actions, the defect metric", () => {
  const Level = Context.Reference<string>("test/Level", { defaultValue: () => "default" })

  it.effect("a sync action handler sees the dispatching fiber's References, log annotations and span", () => {
    const { spans, tracer } = recordingTracer()
    return withBus({}, (bus) =>
      Effect.gen(function*() {
        const seen: Array<unknown> = []
        const look = Effect.gen(function*() {
          const span = yield* Effect.currentSpan
          seen.push([yield* Level, (yield* References.CurrentLogAnnotations).request, span.name])
        })
        yield* bus.addAction(Saved, () => look, { source: "gen" })
        yield* bus.addAction(Saved, () => Effect.andThen(Effect.yieldNow, look), { source: "suspends" })
        yield* bus.doAction(Saved, "1").pipe(
          Effect.provideService(Level, "dispatcher"),
          Effect.annotateLogs({ request: "r-1" }),
          Effect.withSpan("caller")
        )
        assert.deepStrictEqual(seen, [
          ["dispatcher", "r-1", "hook.action post.saved"],
          ["dispatcher", "r-1", "hook.action post.saved"]
        ])
        assert.strictEqual(spans.find((s) => s.name === "hook.action post.saved")?.parent._tag, "Some")
      }).pipe(Effect.provideService(Tracer.Tracer, tracer)))
  })

  it.effect("a defect counts in hookbus_handler_failures_total with reason defect, per source", () =>
    withBus({ tracing: "off" }, (bus, registry) =>
      Effect.gen(function*() {
        yield* bus.addAction(Saved, () => Effect.die("bug"), { source: "dies" })
        yield* bus.addAction(Saved, () => {
          throw new Error("thrown")
        }, { source: "throws" })
        yield* Effect.flip(bus.doAction(Saved, "1"))
        yield* Effect.flip(bus.doAction(Saved, "2"))
        for (const source of ["dies", "throws"]) {
          const series = yield* seriesValue(registry, "hookbus_handler_failures_total", {
            hook: "post.saved",
            kind: "action",
            source,
            reason: "defect"
          })
          assert.strictEqual(series?.count, 2, source)
        }
        // Defects and typed failures are separate series; nothing else was counted for these sources.
        const failures = yield* Metric.snapshot.pipe(Effect.provideService(Metric.MetricRegistry, registry))
        const counted = failures.filter((m) => m.id === "hookbus_handler_failures_total").map((m) => [
          (m.attributes as Record<string, string>).source,
          (m.attributes as Record<string, string>).reason,
          (m.state as { count: number }).count
        ])
        assert.deepStrictEqual(counted, [["dies", "defect", 2], ["throws", "defect", 2]])
      })))

  it.effect("a typed failure counts with reason failure, a skipped filter defect with reason defect", () =>
    withBus({ tracing: "off", filterErrors: { the_content: "skip" } }, (bus, registry) =>
      Effect.gen(function*() {
        yield* bus.addAction(Saved, () => Effect.fail("typed"), { source: "fails" })
        yield* bus.addFilter(TheContent, () => Effect.die("bug"), { source: "filter-dies" })
        yield* Effect.flip(bus.doAction(Saved, "1"))
        assert.strictEqual(yield* bus.applyFilters(TheContent, "kept"), "kept")
        assert.strictEqual(yield* bus.applyFilters(TheContent, "kept"), "kept")
        const failure = yield* seriesValue(registry, "hookbus_handler_failures_total", {
          hook: "post.saved",
          kind: "action",
          source: "fails",
          reason: "failure"
        })
        const skipped = yield* seriesValue(registry, "hookbus_handler_failures_total", {
          hook: "the_content",
          kind: "filter",
          source: "filter-dies",
          reason: "defect"
        })
        assert.deepStrictEqual([failure?.count, skipped?.count], [1, 2])
      })))

  it.effect("context reaches a nested sync action: References, annotations, the span chain, and lent services", () => {
    const { spans, tracer } = recordingTracer()
    class Greeting extends Context.Service<Greeting, string>()("test/Greeting") {}
    const Inner = Hook.action("inner")
    return withBus({}, (bus) =>
      Effect.gen(function*() {
        const seen: Array<unknown> = []
        // Registered where Greeting exists; dispatched from a fiber that lacks it.
        yield* bus.addAction(Inner, () =>
          Effect.gen(function*() {
            const span = yield* Effect.currentSpan
            seen.push([yield* Greeting, yield* Level, (yield* References.CurrentLogAnnotations).request, span.name])
          }), { source: "inner" }).pipe(Effect.provideService(Greeting, "hello"))
        yield* bus.addAction(Saved, () => bus.doAction(Inner), { source: "outer" })
        yield* bus.doAction(Saved, "1").pipe(
          Effect.provideService(Level, "dispatcher"),
          Effect.annotateLogs({ request: "r-2" }),
          Effect.withSpan("caller")
        )
        assert.deepStrictEqual(seen, [["hello", "dispatcher", "r-2", "hook.action inner"]])
        const inner = spans.find((s) => s.name === "hook.action inner")
        const outer = spans.find((s) => s.name === "hook.action post.saved")
        assert.strictEqual(inner && parentName(inner), "hook.action post.saved")
        assert.strictEqual(outer && parentName(outer), "caller")
      }).pipe(Effect.provideService(Tracer.Tracer, tracer)))
  })
})
