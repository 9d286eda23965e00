// The bad-input catalogue's harness: one case = a command line (or a workflow started with plain JSON),
// the exit code it must give, what its message must say (the field or file, and what to do), and the
// proof that nothing was written: the sandbox's files (the run store among them) and the project's runs/
// are byte-for-byte the same afterwards, and paths the input pointed at were never created.
//
// Cases run the CLI in-process (cli/program.ts runCli: the same dispatcher bin/autopipe.mjs calls), so
// the catalogue stays fast. CATALOGUE_BIN=/path/to/bin/autopipe.mjs runs every case as a real process
// against that checkout instead (how the closing note counted the cases that needed a code change).
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, vi } from 'vitest';
import { runCli } from '../../cli/program';
import { defaultRunsDir } from '../../host/paths';

export interface Sandbox {
  dir: string;
  /** Write a file in the sandbox (or a subfolder) and return its absolute path. */
  file(name: string, content: string | Buffer): string;
  at(name: string): string;
}

export function sandbox(prefix: string): Sandbox {
  const dir = path.join(os.tmpdir(), `${prefix}-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  return {
    dir,
    at: (name) => path.join(dir, name),
    file(name, content) {
      const p = path.join(dir, name);
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, content);
      return p;
    },
  };
}

export interface BadInput {
  name: string;
  argv: string[];
  env?: Record<string, string | undefined>;
  exit: number;
  /** Each must match the output (the message names the field or file and says what to do). */
  says: (string | RegExp)[];
  /** Paths the input pointed at that must not exist afterwards (e.g. /etc/autopipe-x). */
  notCreated?: string[];
  /** The command's own work directory given on its command line (helper inputs and logs may appear there). */
  mayWrite?: string[];
  /** Too harmful to run against an old checkout (CATALOGUE_BIN), e.g. unbounded memory: counted as needing a change. */
  harmfulBefore?: boolean;
}

/**
 * Every file below `dir` with its size and content hash. The one write a refused input may leave is the
 * log of the helper that refused it (the message points to it): folders named logs/ or
 * autopipe-helpers/ are not compared. The store, structures and everything else are.
 * `by: 'stat'` fingerprints each file by size, inode and modification time instead of its content: for
 * the project's runs/, which holds a developer's campaigns (11 GB on one machine; hashing it for every
 * case made the unit tier run for hours). Any write there changes the modification time.
 */
export function snapshot(dir: string, skip: string[] = [], by: 'content' | 'stat' = 'content'): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const f of readdirSync(d)) {
      if (f === 'logs' || f === 'autopipe-helpers' || f.startsWith('tsx-')) continue; // tsx-*: the TypeScript cache of a spawned CLI
      const p = path.join(d, f);
      if (skip.includes(p)) continue;
      const st = statSync(p);
      if (st.isDirectory()) walk(p); // folders are not compared (a created path is checked with notCreated)
      else if (by === 'stat') out.set(p, `${st.size}:${st.ino}:${st.mtimeMs}`);
      else out.set(p, `${st.size}:${createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16)}`);
    }
  };
  walk(dir);
  return out;
}

function captured() {
  const err: string[] = [];
  const out: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.map(String).join(' ') + '\n'));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.map(String).join(' ') + '\n'));
  return { out: () => out.join(''), err: () => err.join('') };
}

async function runInProcess(c: BadInput): Promise<{ exitCode: number; stderr: string; stdout: string }> {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(c.env ?? {})) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const io = captured();
  try {
    const exitCode = await runCli(c.argv);
    return { exitCode, stderr: io.err(), stdout: io.out() };
  } finally {
    vi.restoreAllMocks();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function runAsProcess(bin: string, c: BadInput): Promise<{ exitCode: number; stderr: string; stdout: string }> {
  const env: Record<string, string | undefined> = { ...process.env, ...c.env };
  const r = await execa(process.execPath, [bin, ...c.argv], { reject: false, env, extendEnv: false, timeout: 120_000 });
  return { exitCode: r.exitCode ?? -1, stderr: String(r.stderr), stdout: String(r.stdout) };
}

/** Run one case and assert everything the catalogue promises. */
export async function checkBadInput(c: BadInput, box: Sandbox): Promise<void> {
  // The case's temporary files go to the sandbox's tmp/, which must be empty again afterwards.
  mkdirSync(box.at('tmp'), { recursive: true });
  const before = snapshot(box.dir, c.mayWrite);
  const runsBefore = snapshot(defaultRunsDir, [], 'stat');
  const bin = process.env.CATALOGUE_BIN;
  if (bin && c.harmfulBefore) throw new Error(`${c.name}: not run against ${bin} (harmful there)`);
  const run = { ...c, env: { TMPDIR: box.at('tmp'), ...c.env } };
  const r = bin ? await runAsProcess(bin, run) : await runInProcess(run);
  const where = `${c.name}\n$ autopipe ${c.argv.join(' ')}\nexit ${r.exitCode}\n${r.stderr}${r.stdout}`;
  expect(r.exitCode, where).toBe(c.exit);
  const said = r.stderr + r.stdout; // errors go to stderr; a status report of a failed campaign to stdout
  for (const s of c.says) {
    if (typeof s === 'string') expect(said, where).toContain(s);
    else expect(said, where).toMatch(s);
  }
  expect(r.stderr, where).not.toMatch(/TypeError|ReferenceError|at .*\.ts:\d+|Traceback/);
  expect(snapshot(box.dir, c.mayWrite), `${where}\nthe sandbox changed`).toEqual(before);
  expect(snapshot(defaultRunsDir, [], 'stat'), `${where}\nruns/ changed`).toEqual(runsBefore);
  for (const p of c.notCreated ?? []) expect(existsSync(p), `${where}\n${p} was created`).toBe(false);
}

type Json = Record<string, unknown>;

function merge(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object' ? merge(a[k] as Json, v as Json) : v;
  }
  return out;
}

/** A small valid Si campaign with `over` merged in (keys set to undefined are removed). */
export function campaign(over: Json = {}): Json {
  const base: Json = {
    system: { name: 'Si', elements: ['Si'], prototype: { kind: 'diamond', a: 5.43 } },
    dft: { pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 16 },
  };
  return JSON.parse(JSON.stringify(merge(base, over)));
}

/** A one-frame extxyz written by hand (no ASE needed): cell rows and (symbol, x, y, z) atoms. */
export function extxyz(cell: number[][], atoms: [string, number, number, number][]): string {
  const lattice = cell.flat().join(' ');
  return `${atoms.length}\nLattice="${lattice}" Properties=species:S:1:pos:R:3 pbc="T T T"\n${atoms.map((a) => a.join(' ')).join('\n')}\n`;
}

/** A CIF of diamond SiGe with every site half Si, half Ge (ASE reads it as pure Ge8 without a word). */
export const PARTIAL_CIF = `data_SiGe
_cell_length_a 5.53
_cell_length_b 5.53
_cell_length_c 5.53
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'F d -3 m'
_symmetry_Int_Tables_number 227
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
Si1 Si 0 0 0 0.5
Ge1 Ge 0 0 0 0.5
`;
