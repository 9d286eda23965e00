// Campaign bookkeeping (control queue): the resolved configuration persisted once, the accumulated DFT
// label history, and the final report. Cheap, idempotent, file-based.
import { ApplicationFailure } from '@temporalio/common';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Campaign } from '../../common/campaign-schema';
import { NonRetryableErrors } from '../../common/errors';
import { defaultRunsDir } from '../../host/paths';
import { readJsonIfExists, writeFileAtomic } from '../runtime/files';
import { assertCampaignInputs } from '../safety/campaign-inputs';
import { deriveCampaign, type Derived } from './heuristics';
import type { DatasetEntry } from '../store/datasets';
import { runLayout } from '../../common/run-layout';

export interface PreparedCampaign {
  runDir: string;
  campaign: Campaign;
  derived: Derived[];
  /** True when a run directory already held this campaign's resolved configuration (a resume). */
  resumed: boolean;
}

/**
 * Derive the missing values once and store them with the campaign (runs/<id>/campaign.resolved.json):
 * a campaign resumed, continued-as-new or restarted with the same id reads them back and never changes
 * them under its feet.
 */
export async function prepareCampaign(input: { raw: unknown; campaignId: string }): Promise<PreparedCampaign> {
  const r = deriveCampaign(input.raw);
  if (!r.ok) {
    throw ApplicationFailure.create({ type: NonRetryableErrors.InvalidConfig, nonRetryable: true, message: `invalid campaign:\n${r.errors.join('\n')}` });
  }
  const runDir = path.resolve(r.campaign.run_directory ?? path.join(defaultRunsDir, input.campaignId));
  const run = runLayout(runDir);
  const file = run.campaignResolved;
  // The id and the run directory's location are checked before anything there is read or written;
  // files, structures and DFT cost before a fresh start (activities/safety/campaign-inputs.ts).
  await assertCampaignInputs(r.campaign, { campaignId: input.campaignId, runDir, only: 'location' });
  const stored = readJsonIfExists<{ campaign: Campaign; derived: Derived[] }>(file);
  if (stored) return { runDir, campaign: stored.campaign, derived: stored.derived, resumed: true };
  await assertCampaignInputs(r.campaign, { campaignId: input.campaignId, runDir });
  mkdirSync(runDir, { recursive: true });
  writeFileAtomic(run.campaignInput, JSON.stringify(input.raw, null, 1));
  writeFileAtomic(file, JSON.stringify({ campaignId: input.campaignId, campaign: r.campaign, derived: r.derived, at: new Date().toISOString() }, null, 1));
  return { runDir, campaign: r.campaign, derived: r.derived, resumed: false };
}

/** Append this generation's DFT labels to the campaign's history (deduplicated by structure id). */
export async function appendDftHistory(input: { runDir: string; generation: number; entries: DatasetEntry[] }): Promise<{ historyFile: string; total: number; added: number }> {
  const historyFile = runLayout(input.runDir).dftHistory;
  const history = readJsonIfExists<(DatasetEntry & { generation: number })[]>(historyFile) ?? [];
  const have = new Set(history.map((e) => e.name));
  const fresh = input.entries.filter((e) => !have.has(e.name)).map((e) => ({ ...e, generation: input.generation }));
  writeFileAtomic(historyFile, JSON.stringify([...history, ...fresh], null, 1));
  return { historyFile, total: history.length + fresh.length, added: fresh.length };
}

export async function readDftHistory(input: { runDir: string }): Promise<DatasetEntry[]> {
  return readJsonIfExists<DatasetEntry[]>(runLayout(input.runDir).dftHistory) ?? [];
}

/** The report users open first: status as JSON and a short human summary, both atomic. */
export async function writeCampaignReport(input: { runDir: string; status: unknown; summary: string[] }): Promise<string> {
  const dir = runLayout(input.runDir).reportDir;
  writeFileAtomic(path.join(dir, 'status.json'), JSON.stringify(input.status, null, 1));
  const md = path.join(dir, 'README.md');
  writeFileAtomic(md, `${input.summary.join('\n')}\n`);
  return md;
}

