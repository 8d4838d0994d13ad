/**
 * infra/grafana/sluice-dashboard.json queries only what the code exports: every metric a panel
 * (or a template variable) names is one a prom-client constructor in the source defines (with
 * the _bucket/_sum/_count series of histograms), and every label a query groups or filters by is
 * one of that metric's labels.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { createIngestMetrics } from '../../ingest/ingestMetrics';
import { createRuntimeMetrics } from '../../runtime/metrics/runtimeMetrics';
import { PROJECT_ROOT } from './deployTestSupport';

const SKIPPED_DIRECTORIES = new Set(['node_modules', '.git', 'test', 'coverage', '.cache']);

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return SKIPPED_DIRECTORIES.has(entry.name) ? [] : sourceFiles(path.join(directory, entry.name));
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path.join(directory, entry.name)] : [];
  });
}

/** name -> prom-client type, from every `new Counter|Gauge|Histogram|Summary({ name: '...' })` in the source. */
function metricsDefinedInSource(): Map<string, string> {
  const defined = new Map<string, string>();
  for (const file of sourceFiles(PROJECT_ROOT)) {
    const text = readFileSync(file, 'utf8');
    if (!text.includes('prom-client')) continue;
    for (const match of text.matchAll(/new (Counter|Gauge|Histogram|Summary)(?:<[^>]*>)?\(\s*\{\s*name:\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)'/g)) defined.set(match[2] ?? '', match[1] ?? '');
  }
  return defined;
}

/** Label names of the metrics the runtime and ingest register. */
function labelsOfRegisteredMetrics(): Map<string, string[]> {
  const runtime = createRuntimeMetrics(new Registry());
  const ingest = createIngestMetrics(new Registry());
  const labels = new Map<string, string[]>();
  for (const registry of [runtime.registry, ingest.registry]) {
    for (const metric of registry.getMetricsAsArray()) {
      const { name, labelNames } = metric as unknown as { name: string; labelNames?: string[] };
      labels.set(name, labelNames ?? []);
    }
  }
  return labels;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: Array<{ expr: string }>;
}

const dashboard = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'infra/grafana/sluice-dashboard.json'), 'utf8')) as {
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: unknown }> };
};
const defined = metricsDefinedInSource();
const registeredLabels = labelsOfRegisteredMetrics();

/** The defined metric a series name belongs to, or undefined. */
function metricOf(series: string): string | undefined {
  if (defined.has(series)) return series;
  const histogramSeries = /^(.*)_(bucket|sum|count)$/.exec(series);
  const base = histogramSeries?.[1] ?? '';
  const type = defined.get(base);
  if (type === 'Histogram' || (type === 'Summary' && histogramSeries?.[2] !== 'bucket')) return base;
  return undefined;
}

function labelsUsedBy(expression: string): string[] {
  const grouped = [...expression.matchAll(/\bby \(([^)]*)\)/g)].flatMap((match) => (match[1] ?? '').split(',').map((label) => label.trim()));
  const selected = [...expression.matchAll(/\{([^}]*)\}/g)].flatMap((match) => [...(match[1] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((label) => label[1] ?? ''));
  return [...new Set([...grouped, ...selected])].filter((label) => label !== '');
}

const queries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expression: target.expr })));

describe('the Grafana dashboard', () => {
  it('finds the metrics the code defines (the scan sees every registered metric)', () => {
    expect([...registeredLabels.keys()].filter((name) => !defined.has(name))).toEqual([]);
  });

  it('has panels with queries, each on the datasource variable, with unique ids', () => {
    const graphs = dashboard.panels.filter((panel) => panel.type !== 'row');
    expect(graphs.length).toBeGreaterThan(5);
    for (const panel of graphs) {
      expect({ panel: panel.title, queries: (panel.targets ?? []).length > 0, datasource: panel.datasource?.uid }).toEqual({ panel: panel.title, queries: true, datasource: '${datasource}' });
    }
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
  });

  it.each(queries.map(({ panel, expression }) => [panel, expression]))('%s: %s queries only metrics and labels the code defines', (_panel, expression) => {
    const series = expression.match(/\bsluice_[a-z0-9_]+/g) ?? [];
    expect(series.length).toBeGreaterThan(0);
    for (const name of series) {
      const metric = metricOf(name);
      expect({ name, defined: metric !== undefined }).toEqual({ name, defined: true });
      const labels = registeredLabels.get(metric ?? '');
      if (!labels) continue; // defined elsewhere (a processor): names checked, labels not known here
      const allowed = name.endsWith('_bucket') ? [...labels, 'le'] : labels;
      for (const label of labelsUsedBy(expression)) expect({ name, label, known: allowed.includes(label) }).toEqual({ name, label, known: true });
    }
  });

  it('lists functions from a metric the runtime exports, by a label it has', () => {
    const variable = dashboard.templating.list.find((entry) => entry.name === 'function');
    const query = JSON.stringify(variable?.query);
    const [, metric, label] = /label_values\((\w+), (\w+)\)/.exec(query) ?? [];
    expect(registeredLabels.get(metric ?? '')).toContain(label);
  });
});
