// Campaign bookkeeping (control queue): the resolved configuration persisted once and the final report.
// Cheap, idempotent, file-based. (Every DFT label so far is a query of the run's store.)
import { ApplicationFailure } from '@temporalio/common';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Campaign } from '../../common/campaign-schema';
import { NonRetryableErrors } from '../../common/errors';
import { defaultRunsDir } from '../../host/paths';
import { readJsonIfExists, writeFileAtomic } from '../runtime/files';
import { canonicalJson } from '../runtime/hashing';
import { assertCampaignInputs } from '../safety/campaign-inputs';
import { deriveCampaign, type Derived } from './heuristics';
import { runLayout } from '../../common/run-layout';

export interface PreparedCampaign {
  runDir: string;
  campaign: Campaign;
  derived: Derived[];
  /** True when a run directory already held this campaign's resolved configuration (a resume). */
  resumed: boolean;
  /** A resume brought another configuration: it replaced the stored one (kept as campaign.resolved.<n>.json). */
  reconfigured?: boolean;
}

/**
 * Derive the missing values once and store them with the campaign (runs/<id>/campaign.resolved.json):
 * a campaign resumed, continued-as-new or restarted with the same id reads them back and never changes
 * them under its feet.
 */
export async function prepareCampaign(input: { raw: unknown; campaignId: string; reconfigure?: boolean }): Promise<PreparedCampaign> {
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
  // A resume with a fixed configuration (`autopipe resume ID --config FIXED.yaml`) derives it again; the
  // earlier files stay beside it, numbered, so the run directory says what changed.
  const changed = stored && input.reconfigure && canonicalJson(readJsonIfExists(run.campaignInput) ?? null) !== canonicalJson(input.raw);
  if (stored && !changed) return { runDir, campaign: stored.campaign, derived: stored.derived, resumed: true };
  // A fresh start (or a fixed configuration): files, structures and DFT cost checked first.
  await assertCampaignInputs(r.campaign, { campaignId: input.campaignId, runDir });
  if (changed) {
    let n = 1;
    while (existsSync(file.replace(/\.json$/, `.${n}.json`))) n++;
    copyFileSync(file, file.replace(/\.json$/, `.${n}.json`));
    if (existsSync(run.campaignInput)) copyFileSync(run.campaignInput, run.campaignInput.replace(/\.json$/, `.${n}.json`));
  }
  mkdirSync(runDir, { recursive: true });
  writeFileAtomic(run.campaignInput, JSON.stringify(input.raw, null, 1));
  writeFileAtomic(file, JSON.stringify({ campaignId: input.campaignId, campaign: r.campaign, derived: r.derived, at: new Date().toISOString() }, null, 1));
  return { runDir, campaign: r.campaign, derived: r.derived, resumed: !!stored, ...(changed ? { reconfigured: true } : {}) };
}

/** The report users open first: status as JSON and a short human summary, both atomic. */
export async function writeCampaignReport(input: { runDir: string; status: unknown; summary: string[] }): Promise<string> {
  const dir = runLayout(input.runDir).reportDir;
  writeFileAtomic(path.join(dir, 'status.json'), JSON.stringify(input.status, null, 1));
  const md = path.join(dir, 'README.md');
  writeFileAtomic(md, `${input.summary.join('\n')}\n`);
  return md;
}

