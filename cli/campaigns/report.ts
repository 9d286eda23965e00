// `autopipe report ID`: (re)write runs/<id>/report/index.html now. The status comes from the running
// workflow's query, else from what the campaign recorded in its run directory; the server is optional
// (without it the ledger links to workflows instead of the exact DFT activities, or not at all).
import type { Client } from '@temporalio/client';
import { buildCampaignReport, type BuiltReport } from '../../activities/report/report';
import type { CampaignStatus } from '../../workflows/campaign-api';
import { queryStatus, recordedStatus, runDirFor } from './live';

export interface CampaignReport extends BuiltReport {
  runDir: string;
  statusSource: 'query' | 'run-directory' | 'none';
}

export async function campaignReport(idOrDir: string, opts: { client?: Client; ui?: string } = {}): Promise<CampaignReport> {
  let status: CampaignStatus | undefined;
  let runDir = runDirFor(idOrDir);
  let source: CampaignReport['statusSource'] = 'none';
  if (opts.client) {
    const h = opts.client.workflow.getHandle(idOrDir);
    const d = await h.describe().catch(() => undefined);
    if (d?.status.name === 'RUNNING') {
      status = await queryStatus(opts.client, h).catch(() => undefined);
      if (status) source = 'query';
    } else if (d && !runDir) {
      runDir = await h.result().then((r) => (r as { runDir?: string }).runDir).catch(() => undefined);
    }
  }
  runDir = status?.runDir || runDir;
  if (!runDir) throw new Error(`no campaign "${idOrDir}": neither a workflow on the server nor a run directory (runs/${idOrDir} or a path); see \`autopipe list\``);
  if (!status && recordedStatus(runDir)) source = 'run-directory';
  const built = await buildCampaignReport({ runDir, status, client: opts.client, ui: opts.ui });
  return { ...built, runDir, statusSource: source };
}
