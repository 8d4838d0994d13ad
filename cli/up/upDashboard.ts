/** The web dashboard of a `sluice up` run. */
import type { LocalPipeline } from '../pipeline/localPipeline';
import type { UpFigureSources } from './upFigures';

export async function startUpDashboard(_pipeline: LocalPipeline, _sources: UpFigureSources, _port: number): Promise<{ url: string; close(): Promise<void> }> {
  throw new Error('the dashboard is not wired into sluice up yet');
}
