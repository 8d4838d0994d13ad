/**
 * The dead-letter browser: newest entries of the ingest, processor and on-failure streams with
 * their reason, source and the start of the payload, and a Replay button. The list is re-read
 * when the totals in the live feed change, not every tick.
 */
import type { DeadLetterEntry, DeadLetterPage, ReplayOutcome } from '../server/dashboardSources';
import { api } from './api';
import { byId, el, formatTime, replaceRows } from './dom';

const PAGE_SIZE = 100;

export class DeadLettersView {
  private readonly body = byId<HTMLTableSectionElement>('dead-letters').querySelector('tbody') as HTMLTableSectionElement;
  private totalsKey = '';
  private loading: Promise<void> | undefined;

  constructor(private readonly onError: (message: string) => void) {
    this.body.addEventListener('click', (event) => {
      const button = (event.target as Element).closest('button[data-replay]');
      const id = button?.getAttribute('data-replay');
      if (!button || !id) return;
      (button as HTMLButtonElement).disabled = true;
      const result = byId('dlq-result');
      result.textContent = `replaying ${id}…`;
      api<ReplayOutcome>('api/dead-letters/replay', { method: 'POST', body: { id } }).then(
        (outcome) => {
          result.textContent = `replayed ${outcome.replayedRecords} record(s) of ${outcome.id} to ${outcome.target}`;
          (button as HTMLButtonElement).disabled = false;
        },
        (error: unknown) => {
          result.textContent = `replay of ${id} failed: ${error instanceof Error ? error.message : String(error)}`;
          (button as HTMLButtonElement).disabled = false;
        },
      );
    });
  }

  onTotals(totals: Record<string, number>): void {
    const key = JSON.stringify(totals);
    byId('dlq-totals').textContent = Object.keys(totals).length === 0 ? '' : `(${Object.entries(totals).map(([stream, count]) => `${stream} ${count}`).join(', ')})`;
    if (key === this.totalsKey || this.loading) return;
    this.loading = this.load().then(
      () => {
        this.totalsKey = key;
      },
      (error: unknown) => this.onError(`dead letters: ${error instanceof Error ? error.message : String(error)}`),
    ).finally(() => {
      this.loading = undefined;
    });
  }

  private async load(): Promise<void> {
    const page = await api<DeadLetterPage>(`api/dead-letters?limit=${PAGE_SIZE}`);
    const key = page.entries.map((entry) => entry.id).join('|');
    replaceRows(this.body, key, () =>
      page.entries.length === 0 ? [el('tr', {}, [el('td', { colspan: '6', class: 'muted' }, ['no dead letters'])])] : page.entries.map((entry) => this.row(entry)),
    );
  }

  private row(entry: DeadLetterEntry): HTMLTableRowElement {
    return el('tr', { 'data-dead-letter': entry.id, 'data-reason': entry.reason, 'data-kind': entry.kind }, [
      el('td', { class: 'nowrap' }, [formatTime(entry.time)]),
      el('td', {}, [entry.stream]),
      el('td', { class: 'reason', title: entry.message }, [entry.reason]),
      el('td', {}, [entry.source]),
      el('td', { class: 'payload', title: `${entry.payloadBytes} bytes` }, [el('code', {}, [entry.payloadPreview])]),
      el('td', { class: 'actions' }, [
        entry.replayRefusal === null
          ? el('button', { type: 'button', 'data-replay': entry.id, title: `to ${entry.replayTarget ?? '?'}` }, ['Replay'])
          : el('span', { class: 'muted', title: entry.replayRefusal }, ['not replayable']),
      ]),
    ]);
  }
}
