/** What `sluice up` and `sluice dashboard` use of the dashboard. */
export { startDashboard, DEFAULT_DASHBOARD_PORT } from './dashboardServer';
export type { DashboardOptions, RunningDashboard } from './dashboardServer';
export type { DashboardSources } from './dashboardSources';
export { localPipelineSources } from './localPipelineSources';
export { openPipelineSources } from './pipelineSources';
export type { PipelineSourcesOptions } from './pipelineSources';
export { localPipelineFigures, streamPipelineFigures } from './pipelineFigures';
