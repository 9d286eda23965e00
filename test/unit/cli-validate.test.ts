// `autopipe validate` and `schema` through the real CLI: exact messages, exit codes.
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../host/paths';

const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');
const fixture = (f: string) => path.join('test', 'fixtures', 'campaigns', f);
const run = (args: string[]) => execa(process.execPath, [cli, ...args], { cwd: projectRoot, reject: false });

describe('autopipe validate', () => {
  it('lists every bad value with its path', async () => {
    const r = await run(['validate', fixture('bad-values.yaml')]);
    expect(r.exitCode).toBe(1);
    const f = fixture('bad-values.yaml');
    expect(r.stderr.split('\n')).toEqual([
      `${f}: system.elements.1: unknown element "Qq"`,
      `${f}: dft.kspacing: must be > 0`,
      `${f}: dft.max_retires: unknown key (check the spelling; see \`autopipe schema\`)`,
      `${f}: training.cutoff: must be a number`,
      '4 problems found',
    ]);
  });

  it('names the file and line of a YAML syntax error', async () => {
    const r = await run(['validate', fixture('bad-syntax.yaml')]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${fixture('bad-syntax.yaml').replace(/[./]/g, '\\$&')}: .*line 4, column 1`, 'm'));
  });

  it('reports inconsistent combinations of valid fields', async () => {
    const r = await run(['validate', fixture('bad-structure.yaml')]);
    expect(r.exitCode).toBe(1);
    const f = fixture('bad-structure.yaml');
    expect(r.stderr.split('\n')).toEqual([
      `${f}: teacher.accept_threshold: must be <= teacher.dft_threshold (0.1)`,
      `${f}: exploration.gamma_select: must be < exploration.gamma_halt (5)`,
      `${f}: dft.pseudopotentials.Fe: "Fe" is not in system.elements`,
      '3 problems found',
    ]);
  });

  it('reports a missing system section', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-validate-'));
    writeFileSync(path.join(dir, 'c.yaml'), 'seed: 3\n');
    const r = await run(['validate', path.join(dir, 'c.yaml')]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split('\n')).toEqual([`${path.join(dir, 'c.yaml')}: system: is required`, '1 problem found']);
  });

  it('accepts the demo campaign and explains derived values', async () => {
    const r = await run(['validate', '--explain', 'examples/si-demo.yaml']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('dft.ecutrho = 80  (derived: ecutrho = 80 Ry: max(4 x ecutwfc for norm-conserving');
    expect(r.stdout).toContain('dft.max_retries = 3  (default)');
    expect(r.stdout).toContain('examples/si-demo.yaml: valid (system Si, elements Si)');
  });

  it('fails clearly for a file that does not exist', async () => {
    const r = await run(['validate', 'nope.yaml']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('nope.yaml: cannot read the file (ENOENT)');
  });

  it('prints a JSON Schema that rejects unknown keys', async () => {
    const r = await run(['schema']);
    expect(r.exitCode).toBe(0);
    const schema = JSON.parse(r.stdout);
    expect(schema.required).toContain('system');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.dft.properties.kspacing.exclusiveMinimum).toBe(0);
  });

  it('rejects an unknown command with usage and exit 2', async () => {
    const r = await run(['frobnicate']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("autopipe: unknown command 'frobnicate'");
  });
});
