// The per-frame info of an extxyz file autopipe wrote (structure_id, config_type, temperature, ...), read
// from the comment lines without parsing the atoms: enough to group candidates into pools on the control
// queue without a Python process. Values come back as strings ("_JSON" strings, ASE's way of keeping hex ids
// from being read as numbers, unwrapped).
import { readFileSync } from 'node:fs';

const PAIR = /([A-Za-z_][\w-]*)=("(?:[^"\\]|\\.)*"|\S+)/g;

function value(raw: string): string {
  if (!raw.startsWith('"')) return raw;
  const inner = raw.slice(1, -1).replace(/\\(.)/g, '$1');
  return inner.startsWith('_JSON ') ? String(JSON.parse(inner.slice(6))) : inner;
}

/** One record per frame: its comment line's key=value pairs (Lattice and Properties left out). */
export function frameHeaders(file: string): Record<string, string>[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Record<string, string>[] = [];
  for (let i = 0; i < lines.length; ) {
    const head = lines[i]!.trim();
    if (!head) {
      i++;
      continue;
    }
    const n = Number(head);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${file}: line ${i + 1} should give a frame's atom count, found "${head.slice(0, 40)}"`);
    const info: Record<string, string> = {};
    for (const m of (lines[i + 1] ?? '').matchAll(PAIR)) if (m[1] !== 'Lattice' && m[1] !== 'Properties') info[m[1]!] = value(m[2]!);
    out.push(info);
    i += n + 2;
  }
  return out;
}
