// Argument values shared by the commands: numbers, lists, "El=value" maps, and which run directory (and
// campaign) a command works on. Every bad value is a UsageError naming the flag and what it must be.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Campaign } from '../common/campaign-schema';
import { defaultRunsDir } from '../host/paths';
import { loadCampaignFile } from './campaign-file';
import { deriveCampaign } from '../activities/campaign/heuristics';
import { runDirectoryProblem } from '../activities/safety/run-directory';
import { runLayout } from '../common/run-layout';
import { CampaignError, InputError, UsageError } from './errors';

export interface RunContext {
  runDir: string;
  campaign?: Campaign;
}

/**
 * The campaign from a file as the campaign itself runs it (schema defaults plus derived values: basis
 * size, smearing, pseudopotentials...), or a CampaignError with every problem. A command that fitted
 * or labelled with the schema's defaults instead would not be "the campaign's settings".
 */
export function campaignFrom(file: string): Campaign {
  const loaded = loadCampaignFile(file);
  if (!loaded.ok) throw new CampaignError(loaded.errors);
  const derived = deriveCampaign(loaded.raw);
  if (!derived.ok) throw new CampaignError(derived.errors.map((e) => `${file}: ${e}`));
  return derived.campaign;
}

/**
 * --run-dir wins; else the campaign's run_directory, else runs/<campaign id or file stem>. It must lie
 * under an allowed run root; `read` also needs its store to exist (a typo names no run, and must not
 * create one).
 */
export function runContext(values: { config?: string; runDir?: string }, purpose: 'read' | 'write' = 'write'): RunContext {
  const campaign = values.config ? campaignFrom(values.config) : undefined;
  const stem = values.config ? path.basename(values.config).replace(/\.(ya?ml|json)$/, '') : undefined;
  const runDir = values.runDir ?? campaign?.run_directory ?? (campaign ? path.join(defaultRunsDir, campaign.id ?? stem!) : undefined);
  if (!runDir) throw new UsageError('give --run-dir DIR or --config CAMPAIGN.yaml (the store is <run dir>/store.sqlite)');
  const field = values.runDir ? '--run-dir' : campaign?.run_directory ? `${values.config}: run_directory` : `run directory of ${values.config}`;
  const resolved = path.resolve(runDir);
  if (purpose === 'read' && !existsSync(runLayout(resolved).store)) {
    throw new InputError(`${field}: no run store at ${runLayout(resolved).store}: check the directory name (\`ls ${path.dirname(resolved)}\`)`);
  }
  const bad = runDirectoryProblem(resolved, field);
  if (bad && purpose === 'write') throw new InputError(bad);
  return { runDir: resolved, campaign };
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
  const range = opts.min !== undefined && opts.max !== undefined ? ` from ${opts.min} to ${opts.max}` : opts.min !== undefined ? ` >= ${opts.min}` : opts.max !== undefined ? ` <= ${opts.max}` : '';
  if (!ok) throw new UsageError(`${flag} must be ${opts.int ? 'an integer' : 'a number'}${range} (got "${v}")`);
  return x;
}

export function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer (got "${v}")`);
  return n;
}

/** "1.5,5" -> [1.5, 5]; every value positive. */
export function numberList(flag: string, v: string | undefined): number[] {
  if (v === undefined) return [];
  const xs = v.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
  if (xs.some((x) => !Number.isFinite(x) || x <= 0)) throw new UsageError(`${flag} must be positive numbers separated by commas (got "${v}")`);
  return xs;
}

export function parseList(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);
}

export function onDuplicate(v: string | undefined): 'error' | 'skip' | undefined {
  if (v === undefined || v === 'error' || v === 'skip') return v;
  throw new UsageError(`--on-duplicate must be error or skip (got "${v}")`);
}

/** A timestamp safe in file names and workflow ids. */
export function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}
