// The one description of a campaign's run directory, runs/<id>/: every path any workflow, activity or
// command reads or writes there comes from here. Pure string joins (no node:path), so workflow code can
// use it too; run directories are absolute POSIX paths.
//
//   campaign.input.json, campaign.resolved.json   the file as given, and with derived values
//   store.sqlite (+ store.db link)                structures, every label, training sets (ASE database):
//                                                 the one source of labels; datasets are its exports
//   structures/<name>.extxyz                      generated and harvested structure sets
//   dft/<structure id>/                           pw.x inputs, outputs, attempts, raw label record
//   mace/logs/                                    fast-oracle helper logs
//   teacher/                                      bootstrap and fine-tune records of the committee
//   teacher/gen-N/chgnet.pt                       a CHGNet teacher fine-tuned in generation N (.json: its record)
//   teacher/gen-0/sevennet-reference.json         a zero-shot SevenNet-0 teacher's energy reference (seed DFT labels)
//   teacher/gen-N/sevennet.pt                     a SevenNet-0 teacher fine-tuned in generation N (.json: its record)
//   routing/<name>/                               tiered-oracle decisions
//   exploration/gen-N/                            MD trajectories and harvested candidates
//   selection/gen-N/                              D-optimal picks
//   datasets/                                     Pacemaker/extxyz exports of the store (training sets,
//                                                 the replay history input)
//   potentials/gen-N/                             .yaml, .yace, .asi, metrics of each generation
//   validation/gen-N/                             that generation's potential scored on the validation set
//                                                 (gen-N-dft-only/: the fit without the teacher's labels,
//                                                 while the validation set compares the two)
//   validation/                                   the validation set's draws, exports and scores per
//                                                 generation; learning-curve.json
//   surrogates/                                   perturbed DFT structures labelled by the teacher
//   report/                                       what users open first

const join = (...parts: string[]) => parts.join('/').replace(/\/+/g, '/');

export function runLayout(runDir: string) {
  const at = (...p: string[]) => join(runDir, ...p);
  return {
    root: runDir,
    campaignInput: at('campaign.input.json'),
    campaignResolved: at('campaign.resolved.json'),
    store: at('store.sqlite'),
    storeLink: at('store.db'),
    structuresDir: at('structures'),
    structures: (name: string) => at('structures', `${name}.extxyz`),
    structureLogs: (name: string) => at('structures', 'logs', name),
    dftDir: (structureId: string) => at('dft', structureId),
    dftRoot: at('dft'),
    maceLogs: at('mace', 'logs'),
    teacherDir: at('teacher'),
    teacherBootstrap: at('teacher', 'bootstrap'),
    teacherGeneration: (g: number) => at('teacher', `gen-${g}`),
    /** A CHGNet teacher fine-tuned in generation g: the file later labelling loads. */
    teacherChgnet: (g: number) => at('teacher', `gen-${g}`, 'chgnet.pt'),
    /** A SevenNet-0 teacher fine-tuned in generation g (its energy reference folded in): the file later labelling loads. */
    teacherSevennet: (g: number) => at('teacher', `gen-${g}`, 'sevennet.pt'),
    /** A zero-shot SevenNet teacher's energy reference (per-element shifts fitted on the seed DFT labels). */
    teacherSevennetReference: at('teacher', 'gen-0', 'sevennet-reference.json'),
    teacherRecord: (name: string) => at('teacher', `${name}.json`),
    routing: (name: string) => at('routing', name),
    exploration: (g: number) => at('exploration', `gen-${g}`),
    selection: (g: number) => at('selection', `gen-${g}`),
    datasetsDir: at('datasets'),
    dataset: (file: string) => at('datasets', file),
    /** The exact training set (Pacemaker format) the generation-g potential was fitted on. */
    trainingSet: (g: number, variant?: string) => at('datasets', `gen-${g}${variant ? `-${variant}` : ''}-training.pckl.gzip`),
    potential: (g: number | string) => at('potentials', typeof g === 'number' ? `gen-${g}` : g),
    surrogatesDir: at('surrogates'),
    validationDir: at('validation'),
    validation: (g: number) => at('validation', `gen-${g}`),
    /** A file of the validation set (its draws, exports and scores per generation). */
    validationFile: (file: string) => at('validation', file),
    /** Every generation's potential scored on the final validation set (written as the campaign goes). */
    learningCurve: at('validation', 'learning-curve.json'),
    reportDir: at('report'),
  };
}

export type RunLayout = ReturnType<typeof runLayout>;
