/**
 * Building DOM nodes from data. Everything shown comes from devices and dead-letter payloads,
 * which anyone who can publish to the broker controls, so text always goes in as textContent,
 * never as HTML.
 */
export type Child = Node | string | number | null | undefined;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, children: readonly Child[] = []): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === 'number' ? String(child) : child);
  }
  return node;
}

export function byId<T extends HTMLElement | SVGElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as unknown as T;
}

/** Replaces a table body's rows, only when what they show changed (a button under the pointer survives the tick). */
export function replaceRows(body: HTMLTableSectionElement, key: string, rows: () => HTMLTableRowElement[]): void {
  if (body.dataset.key === key) return;
  body.dataset.key = key;
  body.replaceChildren(...rows());
}

export function formatNumber(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function formatTime(epochMs: number | null | undefined): string {
  if (epochMs === null || epochMs === undefined) return '–';
  return new Date(epochMs).toLocaleTimeString('en-GB', { hour12: false });
}

export function formatAge(epochMs: number | null | undefined, now: number): string {
  if (epochMs === null || epochMs === undefined) return 'never';
  const seconds = Math.max(0, Math.round((now - epochMs) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  return `${Math.floor(seconds / 3600)}h ago`;
}
