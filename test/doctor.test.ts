// `autopipe doctor` on the real machine, and with tools hidden (PATH and venv pointed elsewhere).
import { execa } from 'execa';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../host/paths';

const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');

describe('autopipe doctor', () => {
  it('passes with every real tool installed and reports versions', async () => {
    const r = await execa(process.execPath, [cli, 'doctor', '--json'], { cwd: projectRoot, reject: false });
    const checks = JSON.parse(r.stdout) as { name: string; ok: boolean; version?: string }[];
    const failed = checks.filter((c) => !c.ok).map((c) => c.name);
    expect(failed).toEqual([]);
    expect(r.exitCode).toBe(0);
    const v = Object.fromEntries(checks.map((c) => [c.name, c.version]));
    expect(v['pw.x (Quantum ESPRESSO)']).toMatch(/^6\.\d/);
    expect(v['temporal (dev server)']).toBe('1.9.1');
    expect(v['python: pyace']).toBe('0.4.0rc1');
    expect(v['python: mace']).toBe('0.3.16');
    expect(v['exploration: numba']).toBe('0.68.1'); // the exploration engine's compiler
  });

  it('fails clearly, with the fix, when pw.x and the venv are missing', async () => {
    const r = await execa(process.execPath, [cli, 'doctor'], {
      cwd: projectRoot,
      reject: false,
      env: { PATH: '/nonexistent', AUTOPIPE_VENV: '/nonexistent/venv' },
      extendEnv: false,
    });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/FAIL pw\.x \(Quantum ESPRESSO\)\s*\n\s+fix: apt-get install quantum-espresso/);
    expect(r.stdout).toMatch(/FAIL temporal \(dev server\)\s*\n\s+fix: run `npm run setup`/);
    expect(r.stdout).toMatch(/FAIL pacemaker\s*\n\s+fix: run `npm run setup`/);
    expect(r.stdout).toMatch(/ok {3}pseudopotentials/);
  });
});
