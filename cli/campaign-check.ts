// A campaign file checked as far as it can be without running anything: the schema (campaign-file.ts),
// the derived values (heuristics), then every input check (activities/safety/campaign-inputs.ts). Used
// by `validate`, `start` and `teacher bootstrap`, so what `validate` accepts is what starts.
import path from 'node:path';
import type { Campaign } from '../common/campaign-schema';
import { deriveCampaign, type Derived } from '../activities/campaign/heuristics';
import { checkCampaign, type CampaignCheck } from '../activities/safety/campaign-inputs';
import { defaultRunsDir } from '../host/paths';
import { loadCampaignFile } from './campaign-file';

export type CheckedCampaign =
  | { ok: true; file: string; campaign: Campaign; derived: Derived[]; raw: Record<string, unknown>; runDir: string; cost: CampaignCheck['cost'] }
  | { ok: false; errors: string[] };

/** The run directory a campaign with this id gets (the same rule as prepareCampaign). */
export function campaignRunDir(c: Campaign, id: string): string {
  return path.resolve(c.run_directory ?? path.join(defaultRunsDir, id));
}

export async function checkCampaignFile(file: string, opts: { id?: string; runDir?: string; structures?: boolean } = {}): Promise<CheckedCampaign> {
  const loaded = loadCampaignFile(file);
  if (!loaded.ok) return loaded;
  const d = deriveCampaign(loaded.raw);
  if (!d.ok) return { ok: false, errors: d.errors.map((e) => `${file}: ${e}`) };
  const id = opts.id ?? d.campaign.id ?? path.basename(file).replace(/\.(ya?ml|json)$/, '');
  const runDir = opts.runDir ? path.resolve(opts.runDir) : campaignRunDir(d.campaign, id);
  const check = await checkCampaign(d.campaign, { campaignId: opts.id ?? d.campaign.id, runDir, structures: opts.structures });
  if (check.problems.length) return { ok: false, errors: check.problems.map((p) => `${file}: ${p}`) };
  return { ok: true, file, campaign: d.campaign, derived: d.derived, raw: loaded.raw, runDir, cost: check.cost };
}
