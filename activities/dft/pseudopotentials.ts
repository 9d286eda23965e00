// Cutoffs from the pseudopotential files themselves: the suggested minimum cutoffs that UPF headers
// carry, with a safety margin, else conservative defaults by pseudopotential type.
import { existsSync, openSync, readSync, closeSync } from 'node:fs';
import path from 'node:path';

export interface UpfInfo {
  file: string;
  type: 'NC' | 'US' | 'PAW' | 'unknown';
  wfcCutoff?: number; // Ry
  rhoCutoff?: number; // Ry
}

function head(file: string, bytes = 64 * 1024): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n).toString('latin1');
  } finally {
    closeSync(fd);
  }
}

export function readUpfInfo(file: string): UpfInfo {
  const text = head(file);
  const num = (re: RegExp) => {
    const m = text.match(re);
    const v = m ? Number.parseFloat(m[1]!.replace(/[dD]/, 'e')) : NaN;
    return Number.isFinite(v) && v > 0 ? v : undefined;
  };
  const typeMatch = text.match(/pseudo_type="\s*(\w+)/i) ?? text.match(/Pseudopotential type:\s*(\w+)/i);
  const raw = (typeMatch?.[1] ?? '').toUpperCase();
  const us = /is_ultrasoft="\s*(t|\.true\.)/i.test(text);
  const paw = /is_paw="\s*(t|\.true\.)/i.test(text);
  const type: UpfInfo['type'] = paw || raw === 'PAW' ? 'PAW' : us || raw.startsWith('US') ? 'US' : raw === 'NC' || raw === 'SL' ? 'NC' : 'unknown';
  return {
    file,
    type,
    wfcCutoff: num(/Suggested minimum cutoff for wavefunctions:\s*([\d.eEdD+-]+)/) ?? num(/wfc_cutoff="\s*([\d.eEdD+-]+)/),
    rhoCutoff: num(/Suggested minimum cutoff for charge density:\s*([\d.eEdD+-]+)/) ?? num(/rho_cutoff="\s*([\d.eEdD+-]+)/),
  };
}

/** Valence electrons (z_valence, or "Z valence" in UPF v1), undefined when the file has none. */
export function valenceElectrons(file: string): number | undefined {
  let text: string;
  try {
    text = head(file);
  } catch {
    return undefined;
  }
  const m = text.match(/z_valence="\s*([\d.eEdD+-]+)/) ?? text.match(/^\s*([\d.eEdD+-]+)\s+Z valence/m);
  const z = m ? Number.parseFloat(m[1]!.replace(/[dD]/, 'e')) : NaN;
  return Number.isFinite(z) && z > 0 ? z : undefined;
}

export interface DerivedCutoffs {
  ecutwfc: number;
  ecutrho: number;
  reasons: string[];
}

const MARGIN = 1.1;

/** Derive the cutoffs missing from the settings; explains each choice. Files must exist. */
export function deriveCutoffs(pseudoDir: string, pseudos: Record<string, string>, given: { ecutwfc?: number; ecutrho?: number }): DerivedCutoffs {
  const infos = Object.entries(pseudos)
    .map(([el, f]) => [el, path.join(pseudoDir, f)] as const)
    .filter(([, f]) => existsSync(f))
    .map(([el, f]) => ({ el, ...readUpfInfo(f) }));
  const reasons: string[] = [];
  const soft = infos.some((i) => i.type === 'US' || i.type === 'PAW');
  let ecutwfc = given.ecutwfc;
  if (ecutwfc === undefined) {
    const suggested = Math.max(0, ...infos.map((i) => i.wfcCutoff ?? 0));
    if (suggested > 0) {
      ecutwfc = Math.ceil(suggested * MARGIN);
      reasons.push(`ecutwfc = ${ecutwfc} Ry: largest suggested cutoff in the pseudopotentials (${suggested} Ry) + 10%`);
    } else {
      ecutwfc = soft ? 40 : 30;
      reasons.push(`ecutwfc = ${ecutwfc} Ry: the pseudopotentials suggest none; default for ${soft ? 'ultrasoft/PAW' : 'norm-conserving'}`);
    }
  }
  let ecutrho = given.ecutrho;
  if (ecutrho === undefined) {
    const suggested = Math.max(0, ...infos.map((i) => i.rhoCutoff ?? 0));
    const factor = soft ? 8 : 4;
    ecutrho = Math.max(Math.ceil(suggested * MARGIN), factor * ecutwfc);
    reasons.push(`ecutrho = ${ecutrho} Ry: max(${factor} x ecutwfc for ${soft ? 'ultrasoft/PAW' : 'norm-conserving'}, suggested ${suggested} Ry + 10%)`);
  }
  return { ecutwfc, ecutrho, reasons };
}
