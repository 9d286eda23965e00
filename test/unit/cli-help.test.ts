// The one dispatcher: every command answers --help with its own options and an example (in-process, no
// server), usage errors exit 2 naming the command, and the CLI's modules import each other without cycles.
import { execa } from 'execa';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { projectRoot } from '../../host/paths';
import { allCommands, buildProgram, commandPath, runCli } from '../../cli/program';

function captured() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ') + '\n'));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ') + '\n'));
  return { out: () => out.join(''), err: () => err.join('') };
}

afterEach(() => vi.restoreAllMocks());

const noAct = () => async () => {};
const paths = allCommands(buildProgram(noAct)).map(commandPath);

describe('autopipe --help', () => {
  it('lists every command', async () => {
    const io = captured();
    expect(await runCli(['--help'])).toBe(0);
    for (const p of paths.filter((x) => !x.includes(' '))) expect(io.out()).toMatch(new RegExp(`^  ${p}\\b`, 'm'));
    expect(paths).toEqual(expect.arrayContaining(['validate', 'start', 'status', 'label dft', 'dataset import', 'teacher bootstrap', 'server start', 'gamma']));
  });

  it.each(paths)('%s --help shows its usage, options and an example', async (p) => {
    const io = captured();
    expect(await runCli([...p.split(' '), '--help'])).toBe(0);
    const text = io.out();
    expect(text).toContain(`Usage: autopipe ${p}`);
    expect(text).toMatch(/\nExamples:\n {2}\$ autopipe /);
    expect(io.err()).toBe('');
  });

  it('names the command and its --help on a usage error (exit 2)', async () => {
    const io = captured();
    expect(await runCli(['dataset', 'import', 'x.extxyz', '--bogus'])).toBe(2);
    expect(io.err()).toContain("autopipe dataset import: unknown option '--bogus'\n(see `autopipe dataset import --help`)");
    expect(await runCli(['select', 'pool.extxyz'])).toBe(2);
    expect(io.err()).toContain('autopipe select: -n N (how many structures to pick) is required\n(see `autopipe select --help`)');
  });

  it('`pause --help` through the real entry prints help, not a campaign lookup', async () => {
    const r = await execa(process.execPath, [path.join(projectRoot, 'bin', 'autopipe.mjs'), 'pause', '--help'], { reject: false, env: { TEMPORAL_ADDRESS: '127.0.0.1:1' } });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Usage: autopipe pause [options] <id>');
    expect(r.stderr).toBe('');
  });
});

/** Static value imports (not `import type`, not dynamic import()) between the project's own modules. */
function importGraph(): Map<string, string[]> {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = path.join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  for (const d of ['cli', 'host', 'common', 'activities', 'workers', 'workflows']) walk(path.join(projectRoot, d));
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    const deps = [...src.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'(\.[^']+)'/gms)].map((m) => {
      const base = path.resolve(path.dirname(f), m[1]!);
      return [`${base}.ts`, path.join(base, 'index.ts')].find((c) => files.includes(c)) ?? base;
    });
    graph.set(f, deps);
  }
  return graph;
}

describe('module structure', () => {
  it('has no import cycle through the CLI', () => {
    const graph = importGraph();
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, stack: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...stack.slice(stack.indexOf(f)), f].map((x) => path.relative(projectRoot, x)).join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const d of graph.get(f) ?? []) visit(d, [...stack, f]);
      state.set(f, 'done');
    };
    for (const f of graph.keys()) if (f.includes(`${path.sep}cli${path.sep}`)) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
