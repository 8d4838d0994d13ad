/** The web dashboard of a `sluice up` run: the pipeline's own figures and the parts its processors use. */
import { localPipelineSources, startDashboard } from '../../dashboard/server';
import type { LocalPipeline } from '../pipeline/localPipeline';

export async function startUpDashboard(pipeline: LocalPipeline, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const sources = await localPipelineSources(pipeline);
  try {
    return await startDashboard({ sources, port });
  } catch (error) {
    await sources.close();
    throw error;
  }
}
