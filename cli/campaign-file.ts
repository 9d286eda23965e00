// Reading a campaign file (YAML or JSON): syntax errors name the file and line; schema problems come
// back one per line as "path: message"; relative paths are made absolute against the file's folder.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { parseCampaign, type Campaign } from '../common/campaign-schema';

const MAX_BYTES = 1_000_000;

export type LoadResult = { ok: true; campaign: Campaign; raw: Record<string, unknown> } | { ok: false; errors: string[] };

export function loadCampaignFile(file: string): LoadResult {
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) return { ok: false, errors: [`${file}: not a file (give the campaign's YAML or JSON file)`] };
    if (st.size > MAX_BYTES) return { ok: false, errors: [`${file}: ${st.size} bytes; a campaign file is a few kB (limit ${MAX_BYTES / 1e6} MB): is this the right file?`] };
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, errors: [`${file}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`] };
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    return { ok: false, errors: doc.errors.map((e) => `${file}: ${e.message.split('\n')[0]}`) };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // e.g. a "billion laughs" alias bomb: refused before it expands
    return { ok: false, errors: [`${file}: ${(err as Error).message}: a campaign needs no YAML aliases (*name); write the values out`] };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, errors: [`${file}: the campaign must be a mapping with at least a "system" section`] };
  }
  const r = parseCampaign(raw);
  if (!r.ok) return { ok: false, errors: r.errors.map((e) => `${file}: ${e}`) };
  const base = path.dirname(path.resolve(file));
  return { ok: true, campaign: resolvePaths(r.campaign, base), raw: resolveRawPaths(raw as Record<string, unknown>, base) };
}

/** Paths in a campaign are relative to the campaign file, as a user writing it would expect. */
export function resolvePaths(c: Campaign, base: string): Campaign {
  const abs = (p: string) => (path.isAbsolute(p) ? p : path.resolve(base, p));
  return {
    ...c,
    run_directory: c.run_directory ? abs(c.run_directory) : undefined,
    system: { ...c.system, structure_file: c.system.structure_file ? abs(c.system.structure_file) : undefined },
    teacher: { ...c.teacher, models: c.teacher.models.map(abs), finetune: { ...c.teacher.finetune, replay_file: c.teacher.finetune.replay_file ? abs(c.teacher.finetune.replay_file) : undefined } },
    dft: { ...c.dft, pseudo_dir: abs(c.dft.pseudo_dir) },
  };
}

/** The same resolution on the raw object that is sent to the workflow (workers may run elsewhere). */
export function resolveRawPaths(raw: Record<string, unknown>, base: string): Record<string, unknown> {
  const abs = (p: unknown) => (typeof p === 'string' && !path.isAbsolute(p) ? path.resolve(base, p) : p);
  const out = structuredClone(raw);
  const section = (k: string) => (out[k] && typeof out[k] === 'object' ? (out[k] as Record<string, unknown>) : undefined);
  if (out.run_directory !== undefined) out.run_directory = abs(out.run_directory);
  const sys = section('system');
  if (sys?.structure_file !== undefined) sys.structure_file = abs(sys.structure_file);
  const teacher = section('teacher');
  if (Array.isArray(teacher?.models)) teacher.models = teacher.models.map(abs);
  const finetune = teacher?.finetune && typeof teacher.finetune === 'object' ? (teacher.finetune as Record<string, unknown>) : undefined;
  if (finetune?.replay_file !== undefined) finetune.replay_file = abs(finetune.replay_file);
  const dft = section('dft');
  if (dft?.pseudo_dir !== undefined) dft.pseudo_dir = abs(dft.pseudo_dir);
  return out;
}
