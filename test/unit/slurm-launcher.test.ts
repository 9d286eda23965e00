// The Slurm launcher's pure parts: the dft.launcher/dft.slurm schema, the batch script, and how Slurm's
// answers (squeue, sacct, scontrol, as captured from slurm-wlm 22.05) map to the attempt's outcome.
import { describe, expect, it } from 'vitest';
import { DftSchema, parseCampaign } from '../../common/campaign-schema';
import { dftAttemptMinutes, sbatchLineProblem, slurmTimeMinutes, SlurmSchema } from '../../common/launcher-schema';
import { dftLabelKey } from '../../activities/dft/qe';
import { costGuardSettings } from '../../activities/dft/launch';
import { renderJobScript, softStopSeconds } from '../../activities/dft/slurm-script';
import { exitCodeOf, jobOutcome, parseSacct, parseScontrol, parseSqueue } from '../../activities/dft/slurm-state';

const system = { name: 'Si', elements: ['Si'], prototype: { kind: 'diamond', a: 5.43 } };

describe('dft.launcher and dft.slurm in the campaign file', () => {
  it('defaults to the local launcher; the Slurm settings have defaults of their own', () => {
    expect(DftSchema.parse({}).launcher).toBe('local');
    expect(SlurmSchema.parse({})).toMatchObject({ nodes: 1, sbatch: [], modules: [], soft_stop_minutes: 5, poll_seconds: 30, max_queue_hours: 72 });
  });

  it('names the field of every bad Slurm setting', () => {
    const r = parseCampaign({
      system,
      dft: { launcher: 'slurm', ranks: 4, slurm: { partition: 'debug; rm -rf /', time_limit: '2 hours', sbatch: ['--mem=8G', '--job-name=x', '--mem 8G\n#SBATCH -p x'], modules: ['qe/7.2', '$(evil)'], nodez: 2 } },
    });
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.errors;
    expect(errors).toEqual(expect.arrayContaining([
      expect.stringMatching(/^dft\.slurm\.partition: use letters/),
      expect.stringMatching(/^dft\.slurm\.time_limit: must be a Slurm time/),
      expect.stringMatching(/^dft\.slurm\.sbatch\.1: "--job-name" is set by autopipe/),
      expect.stringMatching(/^dft\.slurm\.sbatch\.2: must be one sbatch option/),
      expect.stringMatching(/^dft\.slurm\.modules\.1: a module name/),
      expect.stringMatching(/^dft\.slurm\.nodez: unknown key/),
    ]));
    expect(errors.some((e) => e.startsWith('dft.slurm.sbatch.0'))).toBe(false);
  });

  it('refuses Slurm settings the local launcher would ignore, and one rank where many are asked for', () => {
    const ignored = parseCampaign({ system, dft: { slurm: { partition: 'debug' } } });
    expect(ignored.ok ? [] : ignored.errors).toEqual(['dft.slurm: is set but dft.launcher is "local": add `launcher: slurm` or remove dft.slurm']);
    const oneRank = parseCampaign({ system, dft: { launcher: 'slurm', ranks: 4 } });
    expect(oneRank.ok ? [] : oneRank.errors).toEqual([expect.stringMatching(/^dft\.command: "pw\.x" starts one rank but dft\.ranks is 4: use "srun pw\.x"/)]);
    expect(parseCampaign({ system, dft: { launcher: 'slurm', ranks: 4, command: 'srun pw.x' } }).ok).toBe(true);
  });

  it('where pw.x runs does not change the label key: labels are shared across launchers', () => {
    const local = DftSchema.parse({ pseudopotentials: { Si: 'Si.pz-vbc.UPF' } });
    const slurm = DftSchema.parse({ pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, launcher: 'slurm', slurm: { partition: 'big' } });
    expect(dftLabelKey('s1', slurm)).toBe(dftLabelKey('s1', local));
    expect(dftLabelKey('s1', { ...local, ecutwfc: 30 })).not.toBe(dftLabelKey('s1', local));
  });

  it("does not bound a batch job's memory by the submitting worker's memory", () => {
    const local = DftSchema.parse({});
    expect(costGuardSettings(local)).toBe(local);
    expect(costGuardSettings(DftSchema.parse({ launcher: 'slurm' })).limits.max_memory_gb).toBe(Number.POSITIVE_INFINITY);
    expect(costGuardSettings(DftSchema.parse({ launcher: 'slurm', limits: { max_memory_gb: 256 } })).limits.max_memory_gb).toBe(256);
  });

  it('reads Slurm time formats and gives a batch attempt its queue wait', () => {
    expect(['90', '5:30', '2:00:00', '1-12', '1-0:30', '2-00:00:30'].map((t) => slurmTimeMinutes(t))).toEqual([90, 5.5, 120, 2160, 1470, 2880.5]);
    expect(slurmTimeMinutes('2h')).toBeUndefined();
    const local = DftSchema.parse({ timeout_minutes: 30 });
    expect(dftAttemptMinutes(local)).toBe(30 + 10);
    const slurm = DftSchema.parse({ timeout_minutes: 30, launcher: 'slurm', slurm: { time_limit: '2:00:00', max_queue_hours: 1 } });
    expect(dftAttemptMinutes(slurm)).toBe(120 + 60 + 10);
  });

  it('accepts plain sbatch options only', () => {
    expect(['--mem=8G', '--qos normal', '-C skylake', '--exclusive'].map(sbatchLineProblem)).toEqual([undefined, undefined, undefined, undefined]);
    expect(sbatchLineProblem('--mem=8G; rm x')).toMatch(/one sbatch option/);
    expect(sbatchLineProblem('-p debug')).toMatch(/set by autopipe/);
  });
});

describe('the batch script', () => {
  const dft = DftSchema.parse({
    command: "srun --mpi=pmix pw.x",
    ranks: 4,
    timeout_minutes: 60,
    launcher: 'slurm',
    slurm: { partition: 'compute', account: 'chem-42', nodes: 2, sbatch: ['--mem=8G', '--qos normal'], modules: ['quantum-espresso/7.2', 'openmpi'] },
  });
  const script = renderJobScript({ jobName: 'ap-s1-abc-a1', dft, slurm: dft.slurm!, prefix: 'pwscf' });

  it('carries every setting as an #SBATCH line, with a soft stop before the time limit', () => {
    const sbatch = script.split('\n').filter((l) => l.startsWith('#SBATCH')).map((l) => l.slice(8));
    expect(sbatch).toEqual([
      '--job-name=ap-s1-abc-a1', '--output=slurm-%j.out', '--ntasks=4', '--nodes=2', '--time=60', '--partition=compute', '--account=chem-42',
      '--no-requeue', '--signal=B:USR1@300', '--mem=8G', '--qos normal',
    ]);
    expect(script.startsWith('#!/bin/bash -l\n')).toBe(true); // modules need the login shell's `module`
  });

  it('loads modules and starts pw.x with quoted arguments, then records its exit code', () => {
    expect(script).toContain("set -e\nmodule load 'quantum-espresso/7.2'\nmodule load 'openmpi'\nset +e\n");
    expect(script).toContain("'srun' '--mpi=pmix' 'pw.x' '-in' 'espresso.pwi' > espresso.pwo 2> pw.err &");
    expect(script).toContain("soft_stop() { date -u +%FT%TZ > time-limit; touch 'pwscf.EXIT'; }\ntrap soft_stop USR1");
    expect(script).toMatch(/echo "\$code" > pw\.exit\.tmp && mv pw\.exit\.tmp pw\.exit\nexit "\$code"\n$/);
  });

  it('asks pw.x to stop at most half-way through a short limit', () => {
    expect(softStopSeconds(SlurmSchema.parse({}), 120)).toBe(300);
    expect(softStopSeconds(SlurmSchema.parse({}), 4)).toBe(120);
    const noModules = renderJobScript({ jobName: 'j', dft: DftSchema.parse({ launcher: 'slurm' }), slurm: SlurmSchema.parse({ time_limit: '0:30' }), prefix: 'x' });
    expect(noModules.startsWith('#!/bin/bash\n')).toBe(true);
    expect(noModules).toContain('#SBATCH --time=0:30\n');
    expect(noModules).toContain('#SBATCH --signal=B:USR1@15\n');
  });
});

describe("Slurm's answers", () => {
  it('parses squeue, sacct (allocation lines only) and scontrol', () => {
    expect(parseSqueue('12|RUNNING|None\n13|PENDING|Priority\n7|FAILED|NonZeroExitCode\n')).toEqual([
      { jobId: '12', state: 'RUNNING', reason: 'None' },
      { jobId: '13', state: 'PENDING', reason: 'Priority' },
      { jobId: '7', state: 'FAILED', reason: 'NonZeroExitCode' },
    ]);
    expect(parseSacct('21|CANCELLED by 0|0:15\n21.batch|CANCELLED|0:15\n22|COMPLETED|0:0\n')).toEqual([
      { jobId: '21', state: 'CANCELLED', exitCode: '0:15' },
      { jobId: '22', state: 'COMPLETED', exitCode: '0:0' },
    ]);
    const sc = 'JobId=1 JobName=t.sh UserId=root(0) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=0 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0 RunTime=00:00:03';
    expect(parseScontrol(sc)).toEqual({ jobId: '1', state: 'FAILED', reason: 'NonZeroExitCode', exitCode: '3:0' });
    expect(exitCodeOf('127:0')).toBe(127);
  });

  it('maps final states to typed outcomes', () => {
    const none = { timeLimitMarker: false };
    expect(jobOutcome('COMPLETED', { ...none, pwExit: 0 })).toEqual({ kind: 'ended', exitCode: 0 });
    expect(jobOutcome('FAILED', { ...none, pwExit: 2 })).toEqual({ kind: 'ended', exitCode: 2 }); // unconverged SCF: the output decides
    expect(jobOutcome('FAILED', { timeLimitMarker: true, pwExit: 255 })).toEqual({ kind: 'time-limit', soft: true });
    expect(jobOutcome('COMPLETED', { timeLimitMarker: true, pwExit: 0 })).toEqual({ kind: 'ended', exitCode: 0 }); // converged before stopping
    expect(jobOutcome('TIMEOUT', none)).toEqual({ kind: 'time-limit', soft: false });
    expect(jobOutcome('NODE_FAIL', none)).toEqual({ kind: 'lost', state: 'NODE_FAIL' });
    expect(jobOutcome('PREEMPTED', none)).toEqual({ kind: 'lost', state: 'PREEMPTED' });
    expect(jobOutcome('OUT_OF_MEMORY', none)).toEqual({ kind: 'out-of-memory' });
    expect(jobOutcome('CANCELLED by 1000', none)).toEqual({ kind: 'cancelled' });
    expect(jobOutcome('FAILED', none)).toEqual({ kind: 'script-failed' });
    expect(jobOutcome('UNKNOWN', none)).toEqual({ kind: 'lost', state: 'UNKNOWN' }); // forgotten, no accounting, no exit code
    expect(jobOutcome('UNKNOWN', { ...none, pwExit: 0 })).toEqual({ kind: 'ended', exitCode: 0 });
  });
});
