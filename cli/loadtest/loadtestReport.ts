/**
 * A load test's report: the JSON of every sample, and one self-contained HTML page with charts
 * of rate, lag and latency over time (uPlot inlined from node_modules: it opens offline).
 */
import { readFileSync } from 'node:fs';
import type { LoadtestResult } from './loadtestRun';

function uplotAssets(): { script: string; style: string } {
  const dist = require.resolve('uplot/dist/uPlot.iife.min.js');
  return { script: readFileSync(dist, 'utf8'), style: readFileSync(dist.replace('uPlot.iife.min.js', 'uPlot.min.css'), 'utf8') };
}

/** Columns for uPlot: x (seconds) then one series per name. */
function columns(result: LoadtestResult): { rate: { names: string[]; data: number[][] }; lag: { names: string[]; data: number[][] }; latency: { names: string[]; data: number[][] } } {
  const t = result.samples.map((sample) => sample.t);
  const stages = [...new Set(result.samples.flatMap((sample) => Object.keys(sample.stagePerSecond)))];
  return {
    rate: { names: ['acked by MQTT', 'ingested', ...stages], data: [t, result.samples.map((s) => s.ackedPerSecond), result.samples.map((s) => s.ingestedPerSecond), ...stages.map((name) => result.samples.map((s) => s.stagePerSecond[name] ?? 0))] },
    lag: { names: stages, data: [t, ...stages.map((name) => result.samples.map((s) => s.lagMs[name] ?? 0))] },
    latency: { names: ['p50', 'p95', 'p99'], data: [t, result.samples.map((s) => s.latencyMs.p50), result.samples.map((s) => s.latencyMs.p95), result.samples.map((s) => s.latencyMs.p99)] },
  };
}

const escapeHtml = (text: string): string => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);

export function loadtestHtml(result: LoadtestResult): string {
  const { script, style } = uplotAssets();
  const charts = columns(result);
  const o = result.options;
  const phases = result.phases.map((p) => `<tr><td>${p.consumers}</td><td>${p.fromT}–${p.toT} s</td><td>${p.ingestedPerSecond}</td><td>${p.aggregatePerSecond}</td><td>${p.maxLagMs}</td><td>${p.latencyP99Ms}</td></tr>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>sluice loadtest ${escapeHtml(result.startedAt)}</title><style>${style} body{font-family:sans-serif;margin:2em} table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:4px 8px}</style></head><body>
<h1>sluice loadtest</h1>
<p>${o.devices} devices, ${o.rate} readings/s, ${o.partitions} partitions, parallelization ${o.parallelization}, handler latency ${o.handlerLatencyMs} ms, ${o.durationSeconds} s; started ${escapeHtml(result.startedAt)}</p>
<p>${result.parts.map(escapeHtml).join('<br>')}</p>
<p>loss: ${result.loss.missing} of ${result.loss.expected} acked readings missing from storage; e2e latency p50 ${result.latencyMs.p50} ms, p95 ${result.latencyMs.p95} ms, p99 ${result.latencyMs.p99} ms (${result.latencyMs.count} samples)</p>
<h2>Scaling by consumers</h2><table><tr><th>consumers per function</th><th>phase</th><th>ingested/s</th><th>aggregate/s</th><th>max lag ms</th><th>p99 latency ms</th></tr>${phases}</table>
<h2>Rate per stage (records/s)</h2><div id="rate"></div><h2>Consumer lag (iterator age, ms)</h2><div id="lag"></div><h2>End-to-end latency (ms)</h2><div id="latency"></div>
<script>${script}</script>
<script>
const charts = ${JSON.stringify(charts)};
for (const [id, chart] of Object.entries(charts)) {
  const series = [{ label: 't (s)' }, ...chart.names.map((name, i) => ({ label: name, stroke: 'hsl(' + (i * 57) % 360 + ',70%,45%)' }))];
  new uPlot({ width: 900, height: 280, series, scales: { x: { time: false } } }, chart.data, document.getElementById(id));
}
</script></body></html>`;
}
