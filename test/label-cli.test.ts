// `autopipe label dft` through the real CLI, server and pw.x: any ASE-readable input (a VASP POSCAR
// here), labels written as extxyz that ASE reads back.
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot, pythonExe } from '../host/paths';
import { pyJson } from './helpers/python';
import { useTestServerEnv } from './helpers/temporal';

const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');

describe('autopipe label dft', () => {
  it('labels a POSCAR with pw.x and writes REF_* extxyz', async () => {
    useTestServerEnv();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-label-'));
    const poscar = path.join(dir, 'POSCAR');
    await execa(pythonExe, ['-c', `from ase.build import bulk; from ase.io import write; a=bulk('Si','diamond',a=5.40); a.rattle(0.03, seed=3); write(${JSON.stringify(poscar)}, a, format='vasp')`]);
    const cfg = path.join(dir, 'c.yaml');
    writeFileSync(cfg, 'system: {name: Si, elements: [Si], prototype: {kind: diamond, a: 5.43}}\ndft: {pseudopotentials: {Si: Si.pz-vbc.UPF}, ecutwfc: 16, smearing: none, kspacing: 0.09}\n');
    const out = path.join(dir, 'labels.extxyz');
    const r = await execa(process.execPath, [cli, 'label', 'dft', poscar, '--config', cfg, '--out', out, '--run-dir', path.join(dir, 'run')], { reject: false });
    expect(r.stderr).toContain('1 structures from');
    expect(r.stderr).toMatch(/done: 1 labelled \(0 healed, 0 reused\), 0 failed/);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe(out);
    const back = await pyJson<{ n: number; e: number; f: number }>(`
import json
from ase.io import read
fr = read(${JSON.stringify(out)}, ':')
print(json.dumps({'n': len(fr), 'e': fr[0].info['REF_energy'], 'f': len(fr[0].arrays['REF_forces'])}))`);
    expect(back).toMatchObject({ n: 1, f: 2 });
    expect(back.e).toBeLessThan(-200);
    // Into the same run directory again with another structure: the output holds this input's label only.
    const poscar2 = path.join(dir, 'POSCAR-2');
    await execa(pythonExe, ['-c', `from ase.build import bulk; from ase.io import write; a=bulk('Si','diamond',a=5.46); a.rattle(0.03, seed=4); write(${JSON.stringify(poscar2)}, a, format='vasp')`]);
    const out2 = path.join(dir, 'labels-2.extxyz');
    const r2 = await execa(process.execPath, [cli, 'label', 'dft', poscar2, '--config', cfg, '--out', out2, '--run-dir', path.join(dir, 'run')], { reject: false });
    expect(r2.exitCode).toBe(0);
    const second = await pyJson<{ n: number; e: number }>(`
import json
from ase.io import read
fr = read(${JSON.stringify(out2)}, ':')
print(json.dumps({'n': len(fr), 'e': fr[0].info['REF_energy']}))`);
    expect(second.n).toBe(1); // was 2: the first run's label came along
    expect(second.e).not.toBe(back.e);
  });

  it('fails with usage errors before touching the server', async () => {
    const r1 = await execa(process.execPath, [cli, 'label', 'dft', 'x.xyz', '--out', 'o.extxyz'], { reject: false });
    expect(r1.exitCode).toBe(2);
    expect(r1.stderr).toContain('--config CAMPAIGN.yaml is required');
    const r2 = await execa(process.execPath, [cli, 'label', 'dft', 'missing.xyz', '--config', 'examples/si-demo.yaml', '--out', 'o.extxyz'], { reject: false, cwd: projectRoot });
    expect(r2.exitCode).toBe(1);
    expect(r2.stderr).toContain('missing.xyz: no such file');
  });
});
