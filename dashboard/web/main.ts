/** The dashboard page: wires the live feed to the sections. */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { DeviceSummary } from '../server/dashboardSources';
import type { DashboardSnapshot, RateHistory } from '../server/snapshotTypes';
import { AlertsView } from './alertsView';
import { api, subscribe } from './api';
import { DeadLettersView } from './deadLettersView';
import { DeviceChart } from './deviceChart';
import { byId, formatTime } from './dom';
import { FleetView } from './fleetView';
import { StagesView } from './stagesView';

const problems = byId('problems');
let actionProblem: string | undefined;

function showProblems(snapshot: DashboardSnapshot | undefined): void {
  const lines = Object.entries(snapshot?.problems ?? {}).map(([section, message]) => `${section}: ${message}`);
  if (actionProblem) lines.push(actionProblem);
  problems.hidden = lines.length === 0;
  problems.textContent = lines.join(' · ');
}

function reportError(message: string): void {
  actionProblem = message;
  showProblems(undefined);
}

const stages = new StagesView();
const chart = new DeviceChart();
let autoSelected = false;
const fleet = new FleetView((device: DeviceSummary) => void chart.show(device).catch((error: unknown) => reportError(String(error))));
const alerts = new AlertsView(() => void api<DashboardSnapshot>('api/snapshot').then(render), reportError);
const deadLetters = new DeadLettersView(reportError);

function render(snapshot: DashboardSnapshot): void {
  byId('updated').textContent = `updated ${formatTime(snapshot.at)}`;
  stages.update(snapshot.stages, snapshot.at, snapshot.rejectedByReason, snapshot.notes);
  fleet.update(snapshot.devices, snapshot.deviceTotal, snapshot.at);
  // the first device with readings is shown until someone picks another
  const first = snapshot.devices.find((device) => device.lastSeen !== null);
  if (!autoSelected && first) {
    autoSelected = true;
    fleet.select(first);
  }
  chart.onSnapshot(snapshot.devices, snapshot.at);
  alerts.update(snapshot.alerts);
  deadLetters.onTotals(snapshot.deadLetterTotals);
  showProblems(snapshot);
}

async function start(): Promise<void> {
  stages.loadHistory(await api<RateHistory>('api/history').catch(() => ({ at: [], rates: {} })));
  const badge = byId('connection');
  subscribe({
    snapshot: render,
    connection: (state) => {
      badge.dataset.state = state;
      badge.textContent = state;
    },
  });
}

void start();
