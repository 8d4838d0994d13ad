/** Open and acknowledged alerts, with Ack and Clear buttons that call the API. */
import type { AlertView } from '../server/dashboardSources';
import { api } from './api';
import { byId, el, formatNumber, formatTime, replaceRows } from './dom';

export class AlertsView {
  private readonly body = byId<HTMLTableSectionElement>('alerts').querySelector('tbody') as HTMLTableSectionElement;

  constructor(private readonly afterAction: (alert: AlertView) => void, private readonly onError: (message: string) => void) {
    // one listener for every row: the buttons are rebuilt when the alerts change
    this.body.addEventListener('click', (event) => {
      const button = (event.target as Element).closest('button[data-action]');
      const alertId = button?.getAttribute('data-alert');
      const action = button?.getAttribute('data-action');
      if (!button || !alertId || (action !== 'ack' && action !== 'clear')) return;
      (button as HTMLButtonElement).disabled = true;
      api<AlertView>(`api/alerts/${encodeURIComponent(alertId)}/${action}`, { method: 'POST', body: { by: 'dashboard' } }).then(
        (alert) => this.afterAction(alert),
        (error: unknown) => {
          (button as HTMLButtonElement).disabled = false;
          this.onError(`${action} ${alertId}: ${error instanceof Error ? error.message : String(error)}`);
        },
      );
    });
  }

  update(alerts: readonly AlertView[]): void {
    const open = alerts.filter((alert) => alert.state === 'open').length;
    byId('alert-count').textContent = `(${open} open, ${alerts.length - open} acknowledged)`;
    const key = alerts.map((alert) => `${alert.alertId}:${alert.state}:${alert.updatedAt}`).join('|');
    replaceRows(this.body, key, () =>
      alerts.length === 0
        ? [el('tr', {}, [el('td', { colspan: '9', class: 'muted' }, ['no open alerts'])])]
        : alerts.map((alert) =>
            el('tr', { 'data-alert': alert.alertId, 'data-state': alert.state, class: `severity-${alert.severity}` }, [
              el('td', { class: 'state' }, [alert.state]),
              el('td', {}, [alert.severity]),
              el('td', {}, [alert.deviceId]),
              el('td', {}, [alert.ruleId]),
              el('td', { class: 'num' }, [formatNumber(alert.value, 2)]),
              el('td', { class: 'num' }, [formatNumber(alert.threshold, 2)]),
              el('td', {}, [alert.message]),
              el('td', {}, [formatTime(alert.raisedAt)]),
              el('td', { class: 'actions' }, [
                alert.state === 'open' ? el('button', { type: 'button', 'data-action': 'ack', 'data-alert': alert.alertId }, ['Ack']) : null,
                el('button', { type: 'button', 'data-action': 'clear', 'data-alert': alert.alertId }, ['Clear']),
              ]),
            ]),
          ),
    );
  }
}
