/**
 * The inspector's page: one HTML document with its CSS inline, and the script (`/app.js`), an ES module made from
 * `inspectorClient`'s own source. Nothing to build: the source Node runs (types erased) or the compiled package's
 * JavaScript is what the browser gets.
 *
 * @internal
 */
import { inspectorClient } from "./client.ts"

/** The page's script: the client function, called. */
export const clientScript = `// hookbus inspector\n(${
  // Lines the type eraser left blank go; the client has no multi-line strings they could belong to.
  inspectorClient.toString().replace(/^[ \t]+$/gm, "").replace(/\n{2,}/g, "\n")})()\n`

const css = `
:root { color-scheme: light dark; --bg: #fbfbfa; --fg: #1d1d1f; --muted: #6b6b70; --line: #dedee2; --panel: #fff;
  --accent: #2f5fd0; --ok: #23854a; --bad: #c0392b; --warn: #b7791f; --async: #7b5cc4; font: 13px/1.45 system-ui, sans-serif }
@media (prefers-color-scheme: dark) { :root { --bg: #17181b; --fg: #e6e6e9; --muted: #9a9aa2; --line: #2e3036;
  --panel: #1f2125; --accent: #7aa2ff; --ok: #4cc27a; --bad: #ff6b5e; --warn: #e5b454; --async: #a98ef0 } }
* { box-sizing: border-box }
body { margin: 0; background: var(--bg); color: var(--fg) }
header { display: flex; gap: 1rem; align-items: baseline; padding: .6rem 1rem; border-bottom: 1px solid var(--line) }
header h1 { font-size: 15px; margin: 0 }
#status { color: var(--ok) } #status.bad { color: var(--bad) }
main { display: grid; grid-template-columns: minmax(420px, 1fr) minmax(420px, 1fr); gap: .8rem; padding: .8rem }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; min-width: 0 }
section.wide { grid-column: 1 / -1 }
h2 { font-size: 13px; margin: 0 0 .5rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted) }
h3 { font-size: 14px; margin: 0 0 .4rem }
table { width: 100%; border-collapse: collapse }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); white-space: nowrap }
th { font-weight: 600; color: var(--muted) }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums }
#hooks-body tr { cursor: pointer } #hooks-body tr:hover, #hooks-body tr.on { background: color-mix(in srgb, var(--accent) 12%, transparent) }
.name { font-family: ui-monospace, monospace }
.kind { font-size: 11px; padding: 0 5px; border-radius: 3px; border: 1px solid var(--line) }
.kind.filter { color: var(--accent) } .kind.action { color: var(--async) }
.bad { color: var(--bad) } .warn { color: var(--warn) } .muted { color: var(--muted) }
input[type=search] { width: 100%; padding: 4px 8px; margin-bottom: .4rem; border: 1px solid var(--line); border-radius: 4px;
  background: var(--bg); color: var(--fg) }
.chain-wrap { position: relative }
.chain-wrap svg.edges { position: absolute; left: 0; top: 0; overflow: visible }
.edge { fill: none; stroke-width: 1.5 } .edge.after { stroke: var(--accent) } .edge.before { stroke: var(--warn) }
marker path { fill: var(--muted) }
ol.chain { list-style: none; margin: 0; padding: 0 0 0 60px }
ol.chain li { display: grid; grid-template-columns: 1.6rem minmax(8rem, 1fr) auto; gap: 0 .6rem; padding: 5px 6px;
  border: 1px solid var(--line); border-radius: 4px; margin-bottom: 4px }
.pos { color: var(--muted) } .source { font-family: ui-monospace, monospace; font-weight: 600 } .source.plugin { color: var(--async) }
.prio { color: var(--muted); text-align: right } .mode, .constraints { grid-column: 2 / -1; color: var(--muted); font-size: 12px }
.tools { display: flex; gap: .8rem; align-items: center; margin-bottom: .4rem }
#tail { list-style: none; margin: 0; padding: 0; max-height: 420px; overflow: auto }
#tail li { padding: 4px 2px; border-bottom: 1px solid var(--line); cursor: pointer }
#tail li:hover { background: color-mix(in srgb, var(--accent) 8%, transparent) }
.line { display: flex; gap: .6rem; align-items: baseline } .line .num { margin-left: auto }
.time { color: var(--muted); font-variant-numeric: tabular-nums }
.outcome { font-size: 11px; padding: 0 5px; border-radius: 3px }
.outcome.ok { color: var(--ok) } .outcome.failed, .outcome.interrupted { color: var(--bad) } .outcome.short_circuit { color: var(--warn) }
.summary { color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap }
.summary code { color: var(--fg) }
.note { font-size: 12px; padding-left: 1rem }
.flame { display: grid; gap: 3px }
.lane { display: grid; grid-template-columns: 11rem 1fr 5rem; gap: .5rem; align-items: center }
.lane .label { font-family: ui-monospace, monospace; overflow: hidden; text-overflow: ellipsis }
.track { position: relative; height: 16px; background: color-mix(in srgb, var(--line) 45%, transparent); border-radius: 2px }
.bar { position: absolute; top: 1px; bottom: 1px; border-radius: 2px; background: var(--ok) }
.bar.failed { background: var(--bad) } .bar.stopped { background: var(--warn) } .bar.async { background: var(--async) }
button { font: inherit; padding: 2px 10px; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); cursor: pointer }
code { font-family: ui-monospace, monospace; font-size: 12px }
`

/** The page. */
export const pageHtml = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hookbus inspector</title>
<style>${css}</style>
<header><h1>hookbus inspector</h1><span id="status">connecting…</span></header>
<main>
  <section id="hooks">
    <h2>Hooks</h2>
    <input id="search" type="search" placeholder="search hooks" aria-label="search hooks">
    <table>
      <thead><tr><th>hook</th><th>kind</th><th class="num">handlers</th><th class="num">dispatches</th>
      <th class="num">errors</th><th class="num">p50</th><th class="num">p99</th></tr></thead>
      <tbody id="hooks-body"></tbody>
    </table>
  </section>
  <section id="detail-panel">
    <h2>Chain</h2>
    <div id="detail"><p class="muted">select a hook to see its handlers in run order</p></div>
  </section>
  <section id="tail-panel">
    <h2>Live dispatches</h2>
    <div class="tools">
      <button id="pause" aria-pressed="false">Pause</button>
      <label><input id="only-selected" type="checkbox"> only the selected hook</label>
    </div>
    <ol id="tail"></ol>
  </section>
  <section id="timeline-panel">
    <h2>Timeline</h2>
    <div id="timeline"><p class="muted">select a dispatch to see its handlers on a timeline</p></div>
  </section>
  <section id="plugins" class="wide" hidden>
    <h2>Plugins</h2>
    <table>
      <thead><tr><th>plugin</th><th>version</th><th>integrity</th><th>mode</th><th class="num">fuel / call</th>
      <th class="num">memory pages (used / cap)</th><th>breaker</th><th class="num">calls</th><th>last error</th><th></th></tr></thead>
      <tbody id="plugins-body"></tbody>
    </table>
  </section>
</main>
<script type="module" src="/app.js"></script>
</html>
`
