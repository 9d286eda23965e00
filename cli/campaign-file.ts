// Reading a campaign file (YAML or JSON): syntax errors name the file and line; schema problems come
// back one per line as "path: message"; relative paths are made absolute against the file's folder.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { parseCampaign, type Campaign } from '../common/campaign-schema';

export type LoadResult = { ok: true; campaign: Campaign; raw: Record<string, unknown> } | { ok: false; errors: string[] };

export function loadCampaignFile(file: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, errors: [`${file}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`] };
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    return { ok: false, errors: doc.errors.map((e) => `${file}: ${e.message.split('\n')[0]}`) };
  }
  const raw = doc.toJS();
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
