// The campaign report, runs/<id>/report/index.html: written by the campaign after every generation (the
// writeHtmlReport activity) and by `autopipe report ID`. One self-contained file (figures embedded); the
// PNGs also stay in report/figures/ for slides and docs.
import type { Client } from '@temporalio/client';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runLayout } from '../../common/run-layout';
import { connectClient } from '../../host/connections';
import { temporalSettings } from '../../host/temporal-config';
import type { CampaignStatus } from '../../workflows/campaign-api';
import { currentActivity } from '../runtime/context';
import { writeFileAtomic } from '../runtime/files';
import { callPython } from '../runtime/python';
import { ReportPlots } from './contracts';
import { collectReportData, type ReportData } from './data';
import { figureSpecs } from './figures';
import { renderReport, SECTIONS } from './html';
import { dftActivityLinks, uiNamespaceBase } from './temporal-links';

export interface BuildReportInput {
  runDir: string;
  /** The campaign's status; default: the one recorded in report/status.json. */
  status?: CampaignStatus;
  /** For links to each DFT activity; without it the ledger links to the workflow that ran it. */
  client?: Client;
  /** Temporal UI base of the namespace (http://host:port/namespaces/<ns>). */
  ui?: string;
}

export interface BuiltReport {
  file: string;
  sections: string[];
  figures: string[];
  dftCalculations: number;
  cost: ReportData['cost'];
  warnings: string[];
}

export async function buildCampaignReport(input: BuildReportInput): Promise<BuiltReport> {
  const run = runLayout(input.runDir);
  const warnings: string[] = [];
  if (input.status) writeFileAtomic(path.join(run.reportDir, 'status.json'), JSON.stringify(input.status, null, 1));
  const data = await collectReportData({ runDir: input.runDir, status: input.status, ui: input.ui });
  if (!data.status) warnings.push(`no campaign status recorded in ${run.reportDir}: the report shows what the run directory holds`);
  if (input.client && input.ui) {
    try {
      const links = await dftActivityLinks(input.client, input.ui, data.campaignId);
      for (const r of data.ledger) r.link = links.get(r.structureId)?.link ?? r.link;
    } catch (err) {
      warnings.push(`links to the DFT activities: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const specs = figureSpecs(data);
  const files = specs.length
    ? await callPython(ReportPlots, { out_dir: path.join(run.reportDir, 'figures'), figures: specs }, {
        workDir: path.join(run.reportDir, 'work'),
        timeoutMs: 10 * 60_000,
      })
    : {};
  const png = (f: string) => `data:image/png;base64,${readFileSync(f).toString('base64')}`;
  const uris: Record<string, string> = Object.fromEntries(Object.entries(files).map(([name, f]) => [name, png(f)]));
  // Without parity numbers, the plots autopipe evaluate drew for the latest scored generation.
  const drawn = [...data.parity].reverse().find((p) => p.images?.energy || p.images?.forces);
  for (const w of ['energy', 'forces'] as const) if (!uris[`parity-${w}`] && drawn?.images?.[w]) uris[`parity-${w}`] = png(drawn.images[w]);
  const file = path.join(run.reportDir, 'index.html');
  writeFileAtomic(file, renderReport(data, uris));
  return { file, sections: SECTIONS.map(([id]) => id), figures: Object.keys(uris), dftCalculations: data.ledger.length, cost: data.cost, warnings };
}

/**
 * Activity (control queue): the campaign's report after each generation. A report that cannot be written
 * must not stop a campaign, so failures come back as a message, not an error.
 */
export async function writeHtmlReport(input: { runDir: string; status: CampaignStatus }): Promise<{ file?: string; error?: string; warnings?: string[] }> {
  let client: Client | undefined;
  try {
    const s = temporalSettings();
    const namespace = currentActivity()?.info.workflowNamespace ?? s.namespace;
    const settings = { ...s, namespace };
    const ui = uiNamespaceBase(settings);
    client = await connectClient(settings).catch(() => undefined);
    const r = await buildCampaignReport({ runDir: input.runDir, status: input.status, client, ui });
    return { file: r.file, warnings: r.warnings };
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    await client?.connection.close().catch(() => undefined);
  }
}
