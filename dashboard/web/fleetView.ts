/**
 * The fleet: a table (id, type, site, last seen, latest values) whose rows are kept across
 * ticks and updated in place, and a small map of the devices that report a location (no map
 * tiles: the machine may be offline, so positions are drawn on their own bounding box).
 */
import type { DeviceSummary } from '../server/dashboardSources';
import { byId, el, formatAge, formatNumber } from './dom';

const SVG = 'http://www.w3.org/2000/svg';

interface FleetRow {
  row: HTMLTableRowElement;
  lastSeen: HTMLTableCellElement;
  latest: HTMLTableCellElement;
  location: HTMLTableCellElement;
}

export function latestText(latest: Record<string, number>): string {
  return Object.entries(latest)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([metric, value]) => `${metric} ${formatNumber(value, 2)}`)
    .join(', ');
}

export class FleetView {
  private readonly rows = new Map<string, FleetRow>();
  private readonly body = byId<HTMLTableSectionElement>('fleet').querySelector('tbody') as HTMLTableSectionElement;
  private order = '';
  private selected: string | undefined;
  private readonly devices = new Map<string, DeviceSummary>();

  constructor(private readonly onSelect: (device: DeviceSummary) => void) {
    this.body.addEventListener('click', (event) => {
      const row = (event.target as Element).closest('tr[data-device]');
      const deviceId = row?.getAttribute('data-device');
      const device = deviceId ? this.devices.get(deviceId) : undefined;
      if (device) this.select(device);
    });
  }

  select(device: DeviceSummary): void {
    this.selected = device.deviceId;
    for (const [deviceId, entry] of this.rows) entry.row.classList.toggle('selected', deviceId === device.deviceId);
    this.onSelect(device);
  }

  update(devices: readonly DeviceSummary[], total: number, now: number): void {
    this.devices.clear();
    for (const device of devices) this.devices.set(device.deviceId, device);
    byId('fleet-count').textContent = total > devices.length ? `(${devices.length} of ${total})` : `(${total})`;
    const order = devices.map((device) => device.deviceId).join('\n');
    if (order !== this.order) {
      this.order = order;
      for (const deviceId of [...this.rows.keys()]) if (!this.devices.has(deviceId)) this.rows.delete(deviceId);
      this.body.replaceChildren(...devices.map((device) => (this.rows.get(device.deviceId) ?? this.addRow(device)).row));
    }
    for (const device of devices) {
      const entry = this.rows.get(device.deviceId);
      if (!entry) continue;
      entry.lastSeen.textContent = formatAge(device.lastSeen, now);
      entry.latest.textContent = latestText(device.latest);
      entry.location.textContent = device.location ? `${device.location.lat.toFixed(4)}, ${device.location.lon.toFixed(4)}` : '';
    }
    this.drawMap(devices);
  }

  private addRow(device: DeviceSummary): FleetRow {
    const entry: FleetRow = {
      lastSeen: el('td', { class: 'nowrap' }),
      latest: el('td', { class: 'latest' }),
      location: el('td', { class: 'muted' }),
      row: el('tr', { 'data-device': device.deviceId, tabindex: '0' }),
    };
    entry.row.append(el('td', {}, [device.deviceId]), el('td', {}, [device.deviceType]), el('td', {}, [device.siteId]), entry.lastSeen, entry.latest, entry.location);
    entry.row.classList.toggle('selected', device.deviceId === this.selected);
    this.rows.set(device.deviceId, entry);
    return entry;
  }

  private drawMap(devices: readonly DeviceSummary[]): void {
    const map = byId<SVGSVGElement>('fleet-map');
    const located = devices.filter((device) => device.location !== null);
    map.replaceChildren();
    if (located.length === 0) {
      const text = document.createElementNS(SVG, 'text');
      text.setAttribute('x', '150');
      text.setAttribute('y', '100');
      text.setAttribute('text-anchor', 'middle');
      text.setAttribute('class', 'muted');
      text.textContent = 'no device reports a location';
      map.append(text);
      return;
    }
    const lats = located.map((device) => device.location?.lat ?? 0);
    const lons = located.map((device) => device.location?.lon ?? 0);
    const [minLat, maxLat, minLon, maxLon] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
    // a lone position (or all in one place) sits in the middle rather than in a corner
    const x = (lon: number): number => (maxLon > minLon ? 10 + (lon - minLon) / (maxLon - minLon) * 280 : 150);
    const y = (lat: number): number => (maxLat > minLat ? 190 - (lat - minLat) / (maxLat - minLat) * 180 : 100);
    for (const device of located) {
      const dot = document.createElementNS(SVG, 'circle');
      dot.setAttribute('cx', String(x(device.location?.lon ?? 0)));
      dot.setAttribute('cy', String(y(device.location?.lat ?? 0)));
      dot.setAttribute('r', device.deviceId === this.selected ? '5' : '3');
      dot.setAttribute('class', device.deviceId === this.selected ? 'dot selected' : 'dot');
      const title = document.createElementNS(SVG, 'title');
      title.textContent = device.deviceId;
      dot.append(title);
      map.append(dot);
    }
  }
}
