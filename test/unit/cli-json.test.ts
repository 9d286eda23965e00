// `--json` on the read commands that need no server, through the real CLI (the server-side ones, list,
// status, report and history, are run against a finished campaign in campaign-e2e.test.ts).
import { execa } from 'execa';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../host/paths';

const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');
const run = (args: string[]) => execa(process.execPath, [cli, ...args], { cwd: projectRoot, reject: false });

describe('autopipe validate --json', () => {
  it('a valid file: its system, elements and the derived values', async () => {
    const r = await run(['validate', 'examples/si-demo.yaml', '--explain', '--json']);
    expect(r.exitCode).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ file: 'examples/si-demo.yaml', valid: true, errors: [], system: 'Si', elements: ['Si'] });
    expect(j.explain.length).toBeGreaterThan(5);
  });

  it('an invalid file: every problem in errors, exit 1, nothing on stderr', async () => {
    const f = path.join('test', 'fixtures', 'campaigns', 'bad-values.yaml');
    const r = await run(['validate', f, '--json']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout);
    expect(j.valid).toBe(false);
    expect(j.errors).toContain(`${f}: dft.kspacing: must be > 0`);
    expect(j.errors).toHaveLength(4);
  });
});
