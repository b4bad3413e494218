/**
 * The inspector page's script, written as one self-contained function: the server sends its source (TypeScript with
 * the types erased, as Node runs it, or the compiled JavaScript of the published package), so the page needs no
 * build step and the script is type-checked with the rest. It must not reference anything outside itself.
 *
 * Every value from the server goes into the page as text (`textContent`), never as markup.
 *
 * @internal
 */
import type { HandlerInfo } from "../../domain/Handler.ts"
import type { HookKind } from "../../domain/Hook.ts"
import type { DispatchView, Edge, HookDetail, HookRow, PluginView } from "./Model.ts"

// Type imports are erased: the function's source refers to nothing outside it.
export function inspectorClient(): void {
  type Kind = HookKind

  const byId = (id: string): HTMLElement => {
    const found = document.getElementById(id)
    if (found === null) throw new Error(`the page has no #${id}`)
    return found
  }
  const el = (
    tag: string,
    attrs: Record<string, string> = {},
    ...children: ReadonlyArray<Node | string>
  ): HTMLElement => {
    const node = document.createElement(tag)
    for (const key in attrs) node.setAttribute(key, attrs[key])
    for (const child of children) node.append(child)
    return node
  }
  const ms = (n: number | undefined): string =>
    n === undefined
      ? "–"
      : n < 1
      ? `${Math.round(n * 1000)} µs`
      : n < 1000
      ? `${n.toFixed(2)} ms`
      : `${(n / 1000).toFixed(2)} s`
  const api = async <A>(path: string, init?: RequestInit): Promise<A> => {
    const response = await fetch(path, { credentials: "same-origin", ...init })
    const body = await response.json() as A & { readonly error?: string }
    if (!response.ok) throw new Error(body.error ?? `${response.status} ${response.statusText}`)
    return body
  }
  const status = byId("status")
  const say = (text: string, bad = false) => {
    status.textContent = text
    status.className = bad ? "bad" : ""
  }

  // ---- hooks list -----------------------------------------------------------------------------------------------
  let selected: { readonly kind: Kind; readonly name: string } | undefined
  let rows: ReadonlyArray<HookRow> = []
  const search = byId("search") as HTMLInputElement
  const hooksBody = byId("hooks-body")
  const renderHooks = () => {
    const query = search.value.trim().toLowerCase()
    hooksBody.replaceChildren(
      ...rows
        .filter((r) => query === "" || r.name.toLowerCase().includes(query))
        .map((r) => {
          const tr = el(
            "tr",
            { "data-hook": r.name, "data-kind": r.kind, tabindex: "0" },
            el("td", { class: "name" }, r.name),
            el("td", {}, el("span", { class: `kind ${r.kind}` }, r.kind)),
            el("td", { class: "num" }, String(r.handlers)),
            el("td", { class: "num" }, String(r.dispatches)),
            el("td", { class: r.errors > 0 ? "num bad" : "num" }, String(r.errors)),
            el("td", { class: "num" }, ms(r.p50Millis)),
            el("td", { class: "num" }, ms(r.p99Millis))
          )
          if (selected !== undefined && selected.kind === r.kind && selected.name === r.name) tr.classList.add("on")
          const open = () => select({ kind: r.kind, name: r.name })
          tr.addEventListener("click", open)
          tr.addEventListener("keydown", (e) => {
            if (e.key === "Enter") open()
          })
          return tr
        })
    )
  }
  search.addEventListener("input", renderHooks)
  const loadHooks = async () => {
    rows = await api<ReadonlyArray<HookRow>>("/api/hooks")
    renderHooks()
  }

  // ---- hook detail: the chain and the constraints that ordered it -----------------------------------------------
  const detail = byId("detail")
  const modeOf = (h: HandlerInfo): string =>
    [h.mode === "async" && h.ordered ? "async, ordered" : h.mode, h.once ? "once" : ""]
      .concat(h.bound === undefined ? [] : [`bounded: ${h.bound.concurrency} in flight, then ${h.bound.overflow}`])
      .concat(h.timeoutMillis === undefined ? [] : [`timeout ${ms(h.timeoutMillis)}`])
      .concat(h.onError === undefined ? [] : [`on error: ${h.onError}`])
      .filter((s) => s !== "")
      .join(" · ")
  const drawEdges = (list: HTMLElement, svg: SVGSVGElement, edges: ReadonlyArray<Edge>) => {
    const ns = "http://www.w3.org/2000/svg"
    const items = new Map<string, HTMLElement>()
    for (const li of Array.from(list.children) as Array<HTMLElement>) items.set(li.dataset.source ?? "", li)
    svg.setAttribute("height", String(list.offsetHeight))
    edges.forEach((edge, i) => {
      const from = items.get(edge.from)
      const to = items.get(edge.to)
      if (from === undefined || to === undefined) return
      const y1 = from.offsetTop + from.offsetHeight / 2
      const y2 = to.offsetTop + to.offsetHeight / 2
      const reach = 14 + 10 * (i % 4)
      const path = document.createElementNS(ns, "path")
      path.setAttribute("d", `M 58 ${y1} C ${58 - reach} ${y1}, ${58 - reach} ${y2}, 58 ${y2}`)
      path.setAttribute("class", `edge ${edge.constraint}`)
      path.setAttribute("marker-end", "url(#arrow)")
      path.setAttribute("data-edge", `${edge.from} -> ${edge.to}`)
      const title = document.createElementNS(ns, "title")
      title.textContent = `${edge.from} runs before ${edge.to}: ${edge.by} says ${edge.constraint} ${
        edge.constraint === "after" ? edge.from : edge.to
      }`
      path.append(title)
      svg.append(path)
    })
  }
  const renderDetail = (d: HookDetail) => {
    const list = el("ol", { class: "chain", "data-testid": "chain" })
    d.chain.forEach((h, i) => {
      const constraints = [
        ...h.after.map((s) => `after ${s}`),
        ...h.before.map((s) => `before ${s}`)
      ]
      list.append(el(
        "li",
        { "data-testid": "chain-item", "data-source": h.source },
        el("span", { class: "pos" }, String(i + 1)),
        el("span", { class: h.source.startsWith("plugin:") ? "source plugin" : "source" }, h.source),
        el("span", { class: "prio", title: "priority" }, `priority ${h.priority}`),
        el("span", { class: "mode" }, modeOf(h)),
        el("span", { class: "constraints" }, constraints.join(", "))
      ))
    })
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg")
    svg.setAttribute("class", "edges")
    svg.setAttribute("width", "60")
    const defs =
      `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>`
    const wrap = el("div", { class: "chain-wrap" }, list)
    wrap.prepend(svg)
    detail.replaceChildren(
      el(
        "h3",
        {},
        el("span", { class: `kind ${d.kind}` }, d.kind),
        " ",
        el("span", { "data-testid": "detail-name" }, d.name)
      ),
      el(
        "p",
        { class: "figures" },
        `${d.handlers} handlers · ${d.dispatches} dispatches · ${d.errors} errors · p50 ${ms(d.p50Millis)} · p99 ${
          ms(d.p99Millis)
        }`
      ),
      d.chain.length === 0 ? el("p", { class: "muted" }, "no handlers") : wrap,
      el(
        "p",
        { class: "muted" },
        d.edges.length === 0
          ? "order: priority, then registration order (no before/after constraints)"
          : `order: priority and registration order, with ${d.edges.length} before/after constraint(s) drawn as arrows`
      )
    )
    svg.innerHTML = defs
    drawEdges(list, svg, d.edges)
  }
  const loadDetail = async () => {
    if (selected === undefined) return
    const d = await api<HookDetail>(
      `/api/hook?kind=${encodeURIComponent(selected.kind)}&name=${encodeURIComponent(selected.name)}`
    )
    renderDetail(d)
  }
  const select = (hook: { readonly kind: Kind; readonly name: string }) => {
    selected = hook
    renderHooks()
    loadDetail().catch((e: unknown) => say(String(e), true))
  }

  // ---- live tail --------------------------------------------------------------------------------------------------
  const tail = byId("tail")
  const pause = byId("pause") as HTMLButtonElement
  const onlySelected = byId("only-selected") as HTMLInputElement
  let paused = false
  let held: Array<DispatchView> = []
  const tailRow = (v: DispatchView): HTMLElement => {
    const time = new Date(v.startedAt).toISOString().slice(11, 23)
    const summary: Array<Node | string> = []
    if (v.kind === "filter") summary.push(el("code", {}, v.value ?? ""), " → ", el("code", {}, v.result ?? ""))
    else summary.push("args ", el("code", {}, `(${v.args.join(", ")})`))
    const notes: Array<HTMLElement> = []
    if (v.shortCircuitedBy !== undefined) {
      notes.push(el("div", { class: "note" }, `short-circuited by ${v.shortCircuitedBy}`))
    }
    for (const f of v.failures) {
      notes.push(el(
        "div",
        { class: f.skipped ? "note warn" : "note bad" },
        `${f.skipped ? "skipped" : "failed"}: ${f.source} (${f.reason}) ${f.error}: ${f.message}`
      ))
    }
    const row = el(
      "li",
      { "data-testid": "tail-item", "data-hook": v.hook, "data-id": String(v.id), tabindex: "0" },
      el(
        "div",
        { class: "line" },
        el("span", { class: "time" }, time),
        el("span", { class: `kind ${v.kind}` }, v.kind),
        el("span", { class: "name" }, v.hook),
        el("span", { class: `outcome ${v.outcome}` }, v.outcome),
        el("span", { class: "num" }, ms(v.durationMillis))
      ),
      el("div", { class: "summary" }, ...summary),
      ...notes
    )
    row.addEventListener("click", () => timeline(v))
    return row
  }
  const visible = (v: DispatchView) =>
    !onlySelected.checked || selected === undefined || (v.kind === selected.kind && v.hook === selected.name)
  const show = (views: ReadonlyArray<DispatchView>) => {
    for (const v of views) if (visible(v)) tail.prepend(tailRow(v))
    while (tail.children.length > 200) tail.lastElementChild?.remove()
  }
  pause.addEventListener("click", () => {
    paused = !paused
    if (!paused) {
      show(held)
      held = []
    }
    pause.textContent = paused ? "Resume" : "Pause"
    pause.setAttribute("aria-pressed", String(paused))
  })
  let refresh: ReturnType<typeof setTimeout> | undefined
  const soon = () => {
    refresh ??= setTimeout(() => {
      refresh = undefined
      loadHooks().then(loadDetail).catch((e: unknown) => say(String(e), true))
    }, 300)
  }
  const connect = () => {
    const events = new EventSource("/api/events")
    events.addEventListener("open", () => say("live"))
    events.addEventListener("error", () => say("disconnected: retrying", true))
    events.addEventListener("dispatch", (e) => {
      const view = JSON.parse((e as MessageEvent<string>).data) as DispatchView
      if (paused) {
        held.push(view)
        pause.textContent = `Resume (${held.length} new)`
      } else show([view])
      soon()
    })
  }

  // ---- flame-style timeline of one dispatch ------------------------------------------------------------------------
  const flame = byId("timeline")
  const timeline = (v: DispatchView) => {
    const timings = v.timings
    if (timings === undefined) {
      flame.replaceChildren(
        el("h3", {}, `${v.kind} ${v.hook} · ${v.outcome} · ${ms(v.durationMillis)}`),
        el(
          "p",
          { class: "muted" },
          `not timed: the bus times at most one dispatch of a hook per millisecond (handlers: ${v.handlers.join(", ")})`
        )
      )
      return
    }
    const total = Math.max(v.durationMillis, ...timings.map((t) => t.startMillis + (t.durationMillis ?? 0)), 1e-6)
    const lanes = timings.map((t) => {
      const left = (t.startMillis / total) * 100
      const width = t.durationMillis === undefined ? 0 : Math.max((t.durationMillis / total) * 100, 0.6)
      const stopped = v.shortCircuitedBy === t.source
      const cls = t.outcome === "async" ? "async" : stopped ? "stopped" : t.outcome
      return el(
        "div",
        { class: "lane", "data-testid": "flame-bar", "data-source": t.source },
        el("span", { class: "label" }, t.source),
        el(
          "span",
          { class: "track" },
          el("span", {
            class: `bar ${cls}`,
            style: `left:${left.toFixed(2)}%;width:${t.outcome === "async" ? "2px" : `${width.toFixed(2)}%`}`,
            title: `${t.source}: +${ms(t.startMillis)}, ${
              t.durationMillis === undefined ? "async (runs after the dispatch)" : ms(t.durationMillis)
            }${stopped ? ", short-circuited the chain" : ""}`
          })
        ),
        el("span", { class: "num" }, t.durationMillis === undefined ? "async" : ms(t.durationMillis))
      )
    })
    flame.replaceChildren(
      el("h3", {}, `${v.kind} ${v.hook} · ${v.outcome} · ${ms(v.durationMillis)}`),
      lanes.length === 0 ? el("p", { class: "muted" }, "no handler ran") : el("div", { class: "flame" }, ...lanes)
    )
  }

  // ---- plugins -----------------------------------------------------------------------------------------------------
  const pluginsBody = byId("plugins-body")
  const loadPlugins = async () => {
    const { plugins } = await api<{ readonly plugins: ReadonlyArray<PluginView> }>("/api/plugins")
    pluginsBody.replaceChildren(...plugins.map((p) => {
      const actions = el("td", {})
      if (p.reloadable) {
        const button = el("button", { "data-plugin": p.name }, "Reload") as HTMLButtonElement
        button.addEventListener("click", () => {
          button.disabled = true
          api<{ readonly version: string }>(`/api/plugins/${encodeURIComponent(p.name)}/reload`, {
            method: "POST",
            headers: { "x-hookbus-inspector": "1" }
          }).then(
            (r) => say(`reloaded ${p.name}: now ${r.version}`),
            (e: unknown) => say(`reload of ${p.name} failed: ${String(e)}`, true)
          ).finally(() => {
            button.disabled = false
            loadPlugins().catch(() => undefined)
          })
        })
        actions.append(button)
      }
      return el(
        "tr",
        { "data-plugin": p.name },
        el("td", { class: "name" }, p.name),
        el("td", {}, p.version),
        el("td", {}, el("code", { title: p.sha256 }, `sha256:${p.sha256.slice(0, 12)}…`)),
        el("td", {}, p.execution),
        el(
          "td",
          { class: "num" },
          p.averageFuelUsed === undefined ? "–" : Math.round(p.averageFuelUsed).toLocaleString()
        ),
        el(
          "td",
          { class: "num", title: "in use / cap, 64 KiB pages" },
          `${p.memoryPagesUsed} / ${p.memoryPages}`
        ),
        el("td", { class: p.breaker === "closed" || p.breaker === "disabled" ? "" : "bad" }, p.breaker),
        el("td", { class: "num" }, `${p.calls} (${p.rejected} refused)`),
        el(
          "td",
          { class: p.lastError === undefined ? "muted" : "bad" },
          p.lastError === undefined ? "none" : `${p.lastError.error}: ${p.lastError.message}`
        ),
        actions
      )
    }))
    byId("plugins").hidden = plugins.length === 0
  }

  // ---- start -------------------------------------------------------------------------------------------------------
  const start = async () => {
    await loadHooks()
    show(await api<ReadonlyArray<DispatchView>>("/api/dispatches"))
    await loadPlugins()
    connect()
    setInterval(() => {
      loadPlugins().catch(() => undefined)
    }, 3000)
  }
  start().catch((e: unknown) => say(String(e), true))
}
