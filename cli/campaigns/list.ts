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
  const rows = new Map<string, CampaignRow>();
  const firstStart = new Map<string, string>();
  // One row per campaign: its current run (earlier runs ended in continue-as-new), started when its first run did.
  for await (const w of client.workflow.list({ query: `WorkflowType = 'campaignWorkflow'` })) {
    const start = w.startTime.toISOString();
    if (!firstStart.has(w.workflowId) || start < firstStart.get(w.workflowId)!) firstStart.set(w.workflowId, start);
    if (w.status.name === 'CONTINUED_AS_NEW') continue;
    const sa = w.typedSearchAttributes;
    rows.set(w.workflowId, {
      id: w.workflowId,
      workflowStatus: w.status.name,
      startedAt: start,
      closedAt: w.closeTime?.toISOString(),
      system: sa.get(SystemKey),
      phase: sa.get(PhaseKey),
      generation: sa.get(GenerationKey),
    });
  }
  const list = [...rows.values()].map((r) => ({ ...r, startedAt: firstStart.get(r.id) ?? r.startedAt }));
  // the dev server's SQLite visibility has no ORDER BY: newest first is sorted here
  list.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  if (opts.limit) list.splice(opts.limit);
  await Promise.all(
    list.map(async (r) => {
      const h = client.workflow.getHandle(r.id);
      // a completed campaign's result names its run directory (which may lie outside runs/)
      const dir = async () => runDirFor(r.id) ?? (r.workflowStatus === 'COMPLETED' ? await h.result().then((x) => (x as { runDir?: string }).runDir).catch(() => undefined) : undefined);
      const s = (r.workflowStatus === 'RUNNING' ? await queryStatus(client, h, 3000).catch(() => undefined) : undefined) ?? (await dir().then((d) => (d ? recordedStatus(d) : undefined)));
      if (!s) return;
      r.dftUsed = s.dft.used;
      r.dftBudget = s.dft.budget;
      r.runDir = s.runDir;
      // the search attributes are set when a phase starts; the status knows the generation a campaign ended in
      r.phase = s.phase;
      r.generation = s.generation;
    }),
  );
  return list;
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
