// `autopipe label dft`: index the input structures, run labellingWorkflow with the campaign's DFT
// settings (progress from the label files), write the labels as extxyz.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { exportDataset } from '../activities/store/datasets';
import { StructuresIndex } from '../activities/structures/generate';
import { callPython } from '../activities/runtime/python';
import { defaultRunsDir } from '../host/paths';
import { runLayout } from '../common/run-layout';
import { uiUrl, temporalSettings } from '../host/temporal-config';
import type { labellingWorkflow } from '../workflows/labelling';
import { stamp } from './args';
import { loadCampaignFile } from './campaign-file';
import type { LabelDftOptions } from './commands/label';
import { CampaignError, InputError, UsageError } from './errors';
import type { DftSettings } from '../common/campaign-schema';
import { deriveCampaign } from '../activities/campaign/heuristics';
import { costProblems, estimateDftCost, kptsFromSpacing } from '../activities/dft/cost';
import { pseudopotentialProblems } from '../activities/safety/campaign-inputs';
import { runDirectoryProblem } from '../activities/safety/run-directory';
import { withLocalRun } from './local-run';

type Indexed = z.output<typeof StructuresIndex.result>;

/** Refuse the whole set before any DFT starts: unknown species, cells above max_atoms_dft or dft.limits. */
function frameProblems(frames: Indexed['frames'], shown: string, dft: DftSettings, valence: Record<string, number>, maxAtoms: number): string[] {
  const problems: string[] = [];
  frames.forEach((f, i) => {
    const where = `${shown} frame ${i}`;
    if (f.problem) {
      problems.push(f.problem.replace(/^\S+ frame \d+/, where));
      return;
    }
    const missing = [...new Set(f.symbols)].filter((el) => valence[el] === undefined);
    if (missing.length) {
      problems.push(`${where}: ${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no pseudopotential in the campaign (add to system.elements and dft.pseudopotentials)`);
      return;
    }
    if (f.natoms > Math.min(maxAtoms, dft.limits.max_atoms)) {
      problems.push(maxAtoms <= dft.limits.max_atoms
        ? `${where}: ${f.natoms} atoms, more than exploration.max_atoms_dft (${maxAtoms}) of the campaign: label smaller cells, or raise max_atoms_dft`
        : `${where}: ${f.natoms} atoms, more than dft.limits.max_atoms (${dft.limits.max_atoms})`);
    }
    const cost = estimateDftCost({ cell: f.cell, symbols: f.symbols, kpts: kptsFromSpacing(f.cell, dft.kspacing), ecutwfc: dft.ecutwfc!, ecutrho: dft.ecutrho ?? 4 * dft.ecutwfc!, spin: dft.spin, smearing: dft.smearing !== 'none', valence });
    problems.push(...costProblems(cost, { ...dft.limits, max_atoms: Infinity }, where));
  });
  return problems;
}

function progress(runDir: string, ids: string[]): { labelled: number; failed: number } {
  let labelled = 0;
  let failed = 0;
  for (const id of new Set(ids)) {
    const dir = runLayout(runDir).dftDir(id);
    if (!existsSync(dir)) continue;
    const files = readdirSync(dir);
    if (files.some((f) => f.startsWith('label-'))) labelled++;
    else if (files.some((f) => f.startsWith('failed-'))) failed++;
  }
  return { labelled, failed };
}

export async function labelDft(input: string, shown: string, opts: LabelDftOptions): Promise<number> {
  if (!existsSync(input)) {
    console.error(`${shown}: no such file`);
    return 1;
  }
  // Everything is checked before the first pw.x: where the labels go, the settings, every structure.
  const out = path.resolve(opts.out!);
  if (existsSync(out) && statSync(out).isDirectory()) throw new UsageError(`--out ${opts.out} is a directory: give the extxyz file to write, e.g. ${path.join(opts.out!, 'labels.extxyz')}`);
  if (!existsSync(path.dirname(out))) throw new InputError(`--out ${opts.out}: the folder ${path.dirname(out)} does not exist (create it first)`);
  const runDir = path.resolve(opts.runDir ?? path.join(defaultRunsDir, `label-${stamp()}`));
  const badRun = runDirectoryProblem(runDir, '--run-dir');
  if (badRun) throw new InputError(badRun);
  const loaded = loadCampaignFile(opts.config!);
  if (!loaded.ok) throw new CampaignError(loaded.errors);
  const derived = deriveCampaign(loaded.raw);
  if (!derived.ok) throw new CampaignError(derived.errors.map((e) => `${opts.config}: ${e}`));
  const c = derived.campaign;
  const pseudo = pseudopotentialProblems(c.dft, c.system.elements);
  if (pseudo.problems.length) throw new CampaignError(pseudo.problems.map((e) => `${opts.config}: ${e}`));
  const maxAtoms = c.exploration.max_atoms_dft;
  // The activity's own pre-flight applies the campaign's max_atoms_dft too.
  const dft: DftSettings = { ...c.dft, limits: { ...c.dft.limits, max_atoms: Math.min(c.dft.limits.max_atoms, maxAtoms) } };

  const scratch = mkdtempSync(path.join(os.tmpdir(), 'autopipe-label-index-'));
  try {
    const indexed = await callPython(StructuresIndex, { input, output: path.join(scratch, 'input.extxyz') }, { workDir: scratch }).catch((err: Error) => {
      throw new InputError(`${shown}: ${err.message.replace(/ \(helper.*$/s, '')}`);
    });
    const problems = frameProblems(indexed.frames, shown, c.dft, pseudo.valence, maxAtoms);
    if (problems.length) {
      const shownProblems = problems.length > 10 ? [...problems.slice(0, 10), `... and ${problems.length - 10} more`] : problems;
      throw new InputError(`nothing was started:\n${shownProblems.join('\n')}`);
    }
    return await labelIndexed(indexed, scratch, runDir, dft, shown, out, opts.worker);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The run itself, once the server answers: the indexed structures into the run directory, the workflow, the labels out. */
async function labelIndexed(indexed: Indexed, scratch: string, runDir: string, dft: DftSettings, shown: string, out: string, inProcessWorkers: boolean): Promise<number> {
  const structureFile = runLayout(runDir).structures('input');
  const result = await withLocalRun({ queues: ['control', 'dft'], inProcessWorkers }, async (client, taskQueue) => {
    mkdirSync(path.dirname(structureFile), { recursive: true });
    copyFileSync(path.join(scratch, 'input.extxyz'), structureFile);
    console.error(`${indexed.count} structures from ${shown}; run directory ${runDir}`);
    const id = `label-${path.basename(runDir)}`;
    const handle = await client.workflow.start<typeof labellingWorkflow>('labellingWorkflow', {
      taskQueue,
      workflowId: id,
      args: [{ runDir, dft, structureFile, ids: indexed.ids, store: { source: 'label', generation: 0 } }],
    });
    console.error(`workflow ${id}: ${uiUrl(temporalSettings(), id)}`);
    const timer = setInterval(() => {
      const p = progress(runDir, indexed.ids);
      console.error(`  ${p.labelled}/${indexed.count} labelled, ${p.failed} failed`);
    }, 3000);
    try {
      return await handle.result();
    } finally {
      clearInterval(timer);
    }
  });
  console.error(`done: ${result.labelled} labelled (${result.healed} healed, ${result.reused} reused), ${result.failed} failed`);
  for (const f of result.failures) console.error(`  failed ${f.structureId}: ${f.reason.split('\n')[0]}`);
  if (result.labels.length) {
    // The labels are in the run's store: the output is an export of exactly these, through a set named
    // for this input (a run directory labelled into before keeps its earlier sets; a shared name exported
    // the earlier labels too).
    const set = `label-${createHash('sha256').update(indexed.ids.join(',')).digest('hex').slice(0, 16)}`;
    const exported = await exportDataset({
      runDir,
      name: path.basename(out).replace(/\.extxyz$/, ''),
      outDir: path.dirname(out),
      formats: ['extxyz'],
      sets: [set],
      define: { set, generation: 0, members: result.labels.map((l) => ({ id: l.structureId, oracle: 'dft', settings_hash: l.labelKey })) },
    });
    if (exported.extxyz !== out) renameSync(exported.extxyz!, out);
    console.log(out);
  }
  return result.failed > 0 ? 1 : 0;
}
