/**
 * Checks run inside the page (page.waitForFunction / page.evaluate). They are functions, not
 * strings: the dashboard's Content-Security-Policy forbids eval, which string expressions need.
 * Playwright sends each function's source to the page, so each is self-contained, and types
 * the DOM only structurally (the test program has no DOM lib).
 */

interface ProbeNode {
  textContent: string | null;
  getAttribute(name: string): string | null;
}

interface ProbeDocument {
  querySelector(selector: string): ProbeNode | null;
  querySelectorAll(selector: string): { length: number };
}

/** At least `minStages` stage rows, and ingest has taken in records. */
export function stagesAreLive(minStages: number): boolean {
  const doc = (globalThis as unknown as { document: ProbeDocument }).document;
  const ingestTotal = doc.querySelector('#stages tr[data-stage="ingest"] td:nth-child(5)')?.textContent ?? '0';
  return doc.querySelectorAll('#stages tbody tr[data-stage]').length >= minStages && Number(ingestTotal.replace(/,/g, '')) > 0;
}

/** The device chart shows `metric` with at least `minPoints` data points and windows of `windowSeconds`. */
export function chartHasData(args: { metric: string; minPoints: number; windowSeconds: number }): boolean {
  const doc = (globalThis as unknown as { document: ProbeDocument }).document;
  const chart = doc.querySelector('#device-chart');
  const info = doc.querySelector('#window-info')?.textContent ?? '';
  return chart?.getAttribute('data-metric') === args.metric
    && Number(chart.getAttribute('data-points')) >= args.minPoints
    && new RegExp(`^\\d+ windows? of ${args.windowSeconds} s$`).test(info);
}

/** The replay result line no longer says it is under way. */
export function replayAnswered(): boolean {
  const doc = (globalThis as unknown as { document: ProbeDocument }).document;
  const text = doc.querySelector('#dlq-result')?.textContent ?? '';
  return text !== '' && !text.startsWith('replaying');
}

interface ProbeCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}

/** Pixels of the chart's canvas drawn in `rgb` (within a tolerance for anti-aliasing): proof that a series was drawn. */
export function countChartPixels(rgb: [number, number, number]): number {
  const doc = (globalThis as unknown as { document: { querySelector(selector: string): ProbeCanvas | null } }).document;
  const canvas = doc.querySelector('#device-chart canvas');
  const context = canvas?.getContext('2d');
  if (!canvas || !context) return 0;
  const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
  let count = 0;
  for (let i = 0; i + 3 < data.length; i += 4) {
    const [r, g, b, a] = [data[i] ?? 0, data[i + 1] ?? 0, data[i + 2] ?? 0, data[i + 3] ?? 0];
    if (Math.abs(r - rgb[0]) < 24 && Math.abs(g - rgb[1]) < 24 && Math.abs(b - rgb[2]) < 24 && a > 128) count += 1;
  }
  return count;
}
