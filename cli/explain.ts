// `validate --explain`: every value the user did not write, with where it came from: derived by the
// heuristic engine (with its reason) or a schema default.
import { deriveCampaign, type Derived } from '../activities/campaign/heuristics';

function defaults(parsed: unknown, raw: unknown, prefix: string, out: string[]) {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return;
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    const r = raw && typeof raw === 'object' ? (raw as Record<string, unknown>)[k] : undefined;
    if (r === undefined && v !== undefined && (typeof v !== 'object' || Array.isArray(v))) out.push(key);
    else if (v && typeof v === 'object' && !Array.isArray(v)) defaults(v, r ?? {}, key, out);
  }
}

export function explainCampaign(raw: unknown): { lines: string[]; derived: Derived[] } | { errors: string[] } {
  const r = deriveCampaign(raw);
  if (!r.ok) return { errors: r.errors };
  const lines = r.derived.map((d) => `${d.key} = ${JSON.stringify(d.value)}  (derived: ${d.reason})`);
  const derivedKeys = new Set(r.derived.map((d) => d.key));
  const keys: string[] = [];
  defaults(r.campaign, raw, '', keys);
  for (const key of keys) {
    if (derivedKeys.has(key)) continue;
    const value = key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], r.campaign);
    lines.push(`${key} = ${JSON.stringify(value)}  (default)`);
  }
  return { lines, derived: r.derived };
}
