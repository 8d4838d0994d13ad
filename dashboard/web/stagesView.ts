/**
 * The stages table: one row per stage, kept across ticks (so its sparkline is drawn into the
 * same chart), with rate, totals, lag and errors, and a sparkline of the rate history.
 */
import type { RateHistory, StageView } from '../server/snapshotTypes';
import { byId, el, formatNumber } from './dom';
import { Sparkline } from './sparkline';

interface StageRow {
  cells: Record<'source' | 'rate' | 'total' | 'lagMs' | 'lagRecords' | 'errors' | 'instances', HTMLTableCellElement>;
  sparkline: Sparkline;
  row: HTMLTableRowElement;
}

const HISTORY_TICKS = 300;

export class StagesView {
  private readonly rows = new Map<string, StageRow>();
  private readonly history: RateHistory = { at: [], rates: {} };
  private readonly body = byId<HTMLTableSectionElement>('stages').querySelector('tbody') as HTMLTableSectionElement;

  /** Seeds the sparklines with what the server remembers from before the page opened. */
  loadHistory(history: RateHistory): void {
    this.history.at = [...history.at];
    this.history.rates = Object.fromEntries(Object.entries(history.rates).map(([name, rates]) => [name, [...rates]]));
  }

  update(stages: readonly StageView[], at: number, rejected: Record<string, number>, notes: readonly string[]): void {
    this.remember(stages, at);
    for (const stage of stages) {
      const row = this.rows.get(stage.name) ?? this.addRow(stage);
      row.cells.source.textContent = stage.source;
      row.cells.rate.textContent = formatNumber(stage.ratePerSec, 1);
      row.cells.total.textContent = formatNumber(stage.recordsRead);
      row.cells.lagMs.textContent = formatNumber(stage.lagMs);
      row.cells.lagRecords.textContent = formatNumber(stage.lagRecords);
      row.cells.errors.textContent = formatNumber(stage.errors);
      row.cells.errors.classList.toggle('bad', (stage.errors ?? 0) > 0);
      row.cells.instances.textContent = formatNumber(stage.instances);
      row.row.dataset.rate = String(stage.ratePerSec ?? '');
      row.sparkline.set(this.history.at.map((t) => t / 1000), this.history.rates[stage.name] ?? []);
    }
    const reasons = Object.entries(rejected).map(([reason, count]) => `${reason} ${count}`);
    byId('rejected').textContent = reasons.length > 0 ? `dead-lettered at ingest: ${reasons.join(', ')}` : '';
    byId('notes').replaceChildren(...notes.map((note) => el('li', {}, [note])));
  }

  private remember(stages: readonly StageView[], at: number): void {
    const { history } = this;
    if (history.at[history.at.length - 1] === at) return;
    history.at.push(at);
    for (const stage of stages) {
      const series = (history.rates[stage.name] ??= new Array<number | null>(history.at.length - 1).fill(null));
      series.push(stage.ratePerSec);
    }
    for (const series of Object.values(history.rates)) if (series.length < history.at.length) series.push(null);
    const excess = history.at.length - HISTORY_TICKS;
    if (excess > 0) {
      history.at.splice(0, excess);
      for (const series of Object.values(history.rates)) series.splice(0, excess);
    }
  }

  private addRow(stage: StageView): StageRow {
    const cell = (className = 'num'): HTMLTableCellElement => el('td', { class: className });
    const cells = { source: cell(''), rate: cell(), total: cell(), lagMs: cell(), lagRecords: cell(), errors: cell(), instances: cell() };
    const sparkCell = el('td', { class: 'spark' });
    const row = el('tr', { 'data-stage': stage.name }, [el('td', {}, [stage.name]), cells.source, cells.rate, sparkCell, cells.total, cells.lagMs, cells.lagRecords, cells.errors, cells.instances]);
    this.body.append(row);
    const entry = { cells, row, sparkline: new Sparkline(sparkCell, '#2f6fb0') };
    this.rows.set(stage.name, entry);
    return entry;
  }
}
