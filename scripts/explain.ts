// `validate --explain`: every value the user did not write, with where it came from.
import path from 'node:path';
import type { Campaign } from '../common/campaign-schema';
import { deriveCutoffs } from '../activities/pseudopotentials';

function walk(parsed: unknown, raw: unknown, prefix: string, out: string[]) {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return;
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    const r = raw && typeof raw === 'object' ? (raw as Record<string, unknown>)[k] : undefined;
    if (r === undefined) {
      if (v !== undefined && (typeof v !== 'object' || Array.isArray(v))) out.push(`${key} = ${JSON.stringify(v)}  (default)`);
      else if (v && typeof v === 'object') walk(v, {}, key, out);
    } else walk(v, r, key, out);
  }
}

export function explainCampaign(c: Campaign, raw: unknown): string[] {
  const out: string[] = [];
  walk(c, raw, '', out);
  const cut = deriveCutoffs(c.dft.pseudo_dir, c.dft.pseudopotentials, c.dft);
  for (const r of cut.reasons) out.push(`dft.${r}  (derived from ${path.basename(c.dft.pseudo_dir)})`);
  return out;
}
