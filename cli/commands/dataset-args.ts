// Arguments shared by `autopipe generate` and `autopipe dataset`: which run directory (and campaign),
// "El=value" maps, numbers, and how a typed failure is shown.
import { ApplicationFailure } from '@temporalio/common';
import path from 'node:path';
import type { Campaign } from '../../common/campaign-schema';
import { defaultRunsDir } from '../../host/paths';
import { loadCampaignFile } from '../campaign-file';
import { UsageError } from './index';

export interface RunContext {
  runDir: string;
  campaign?: Campaign;
}

/** --run-dir wins; else the campaign's run_directory, else runs/<campaign id or file stem>. */
export function runContext(values: { config?: string; 'run-dir'?: string }, required = true): RunContext | undefined {
  let campaign: Campaign | undefined;
  if (values.config) {
    const loaded = loadCampaignFile(values.config);
    if (!loaded.ok) throw new CampaignError(loaded.errors);
    campaign = loaded.campaign;
  }
  const stem = values.config ? path.basename(values.config).replace(/\.(ya?ml|json)$/, '') : undefined;
  const runDir = values['run-dir'] ?? campaign?.run_directory ?? (campaign ? path.join(defaultRunsDir, campaign.id ?? stem!) : undefined);
  if (!runDir) {
    if (required) throw new UsageError('give --run-dir DIR or --config CAMPAIGN.yaml (the store is <run dir>/store.sqlite)');
    return undefined;
  }
  return { runDir: path.resolve(runDir), campaign };
}

export class CampaignError extends Error {
  constructor(readonly errors: string[]) {
    super(errors.join('\n'));
  }
}

/** "Si=-1.5,Ge=-2" -> {Si: -1.5, Ge: -2} */
export function parseNumberMap(flag: string, spec: string | undefined): Record<string, number> | undefined {
  if (spec === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const part of spec.split(',').filter(Boolean)) {
    const [k, v, ...rest] = part.split('=');
    const x = Number(v);
    if (!k || v === undefined || rest.length || v.trim() === '' || !Number.isFinite(x)) throw new UsageError(`${flag}: "${part}" must look like NAME=NUMBER`);
    out[k.trim()] = x;
  }
  return out;
}

export function parseNumber(flag: string, v: string | undefined, opts: { int?: boolean; min?: number; max?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  const ok = v.trim() !== '' && Number.isFinite(x) && (!opts.int || Number.isInteger(x)) && (opts.min === undefined || x >= opts.min) && (opts.max === undefined || x <= opts.max);
  if (!ok) throw new UsageError(`${flag} must be ${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.max !== undefined ? ` <= ${opts.max}` : ''} (got "${v}")`);
  return x;
}

export function parseList(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);
}

export function onDuplicate(v: string | undefined): 'error' | 'skip' | undefined {
  if (v === undefined || v === 'error' || v === 'skip') return v;
  throw new UsageError(`--on-duplicate must be error or skip (got "${v}")`);
}

/** Run a command body; a typed failure prints "TYPE: message" and exits 1, a campaign error its lines. */
export async function reportFailures(name: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof ApplicationFailure) {
      console.error(`autopipe ${name}: ${err.type}: ${err.message}`);
      return 1;
    }
    if (err instanceof CampaignError) {
      err.errors.forEach((e) => console.error(e));
      return 1;
    }
    throw err;
  }
}
