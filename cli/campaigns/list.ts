// `autopipe list`: every campaign on the server with its phase, generation and DFT calculations used. Phase
// and generation come from the search attributes; DFT used from the status query (running campaigns, with a
// short deadline) or the status the campaign recorded in its run directory.
import type { Client } from '@temporalio/client';
import { GenerationKey, PhaseKey, SystemKey } from '../../common/search-attributes';
import { queryStatus, recordedStatus, runDirFor } from './live';

export interface CampaignRow {
  id: string;
  workflowStatus: string;
  startedAt: string;
  closedAt?: string;
  system?: string;
  phase?: string;
  generation?: number;
  dftUsed?: number;
  dftBudget?: number;
  runDir?: string;
}

export async function listCampaigns(client: Client, opts: { limit?: number } = {}): Promise<CampaignRow[]> {
  const rows: CampaignRow[] = [];
  const seen = new Set<string>();
  // Newest first; one row per campaign (earlier runs of a campaign ended in continue-as-new).
  for await (const w of client.workflow.list({ query: `WorkflowType = 'campaignWorkflow' ORDER BY StartTime DESC` })) {
    if (seen.has(w.workflowId) || w.status.name === 'CONTINUED_AS_NEW') continue;
    seen.add(w.workflowId);
    const sa = w.typedSearchAttributes;
    rows.push({
      id: w.workflowId,
      workflowStatus: w.status.name,
      startedAt: w.startTime.toISOString(),
      closedAt: w.closeTime?.toISOString(),
      system: sa.get(SystemKey),
      phase: sa.get(PhaseKey),
      generation: sa.get(GenerationKey),
    });
    if (opts.limit && rows.length >= opts.limit) break;
  }
  await Promise.all(
    rows.map(async (r) => {
      const s =
        (r.workflowStatus === 'RUNNING' ? await queryStatus(client, client.workflow.getHandle(r.id), 3000).catch(() => undefined) : undefined) ??
        (() => {
          const dir = runDirFor(r.id);
          return dir ? recordedStatus(dir) : undefined;
        })();
      if (!s) return;
      r.dftUsed = s.dft.used;
      r.dftBudget = s.dft.budget;
      r.runDir = s.runDir;
      if (r.workflowStatus !== 'RUNNING') r.phase = r.phase ?? s.phase;
    }),
  );
  return rows;
}

export function formatCampaignRows(rows: CampaignRow[]): string {
  if (!rows.length) return 'no campaigns on this server (start one with `autopipe start CAMPAIGN.yaml`)';
  const head = ['campaign', 'status', 'phase', 'gen', 'DFT used', 'started'];
  const body = rows.map((r) => [
    r.id,
    r.workflowStatus.toLowerCase(),
    r.phase ?? '?',
    r.generation === undefined ? '?' : String(r.generation),
    r.dftUsed === undefined ? '?' : `${r.dftUsed}/${r.dftBudget}`,
    r.startedAt.replace('T', ' ').slice(0, 19),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((cols) => cols.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
