// Bad-input catalogue, part 1: arguments and campaign files that are refused before any Python helper,
// tool or server is needed. Every case: exit code, a message naming the field or file and what to do,
// nothing written (test/helpers/bad-input.ts). Part 2 (files read with Python) is bad-input-files.test.ts,
// part 3 (a server, the workflow started with plain JSON) test/bad-input-server.test.ts.
import { afterAll, describe, it } from 'vitest';
import { rmSync } from 'node:fs';
import YAML from 'yaml';
import { campaign, checkBadInput, sandbox, type BadInput } from '../helpers/bad-input';

const box = sandbox('autopipe-catalogue-cli');
afterAll(() => rmSync(box.dir, { recursive: true, force: true }));

const yaml = (name: string, over: Record<string, unknown> = {}) => box.file(name, YAML.stringify(campaign(over)));
const good = yaml('good.yaml');
const offline = { TEMPORAL_ADDRESS: '127.0.0.1:1' }; // a closed port: a case that got past its checks could not start anything
const run = box.at('run'); // a run directory under the allowed roots (AUTOPIPE_RUN_ROOTS = the temp dir in tests)

const cases: BadInput[] = [
  // --- validate: the campaign file itself
  { name: 'validate: file does not exist', argv: ['validate', box.at('nope.yaml')], exit: 1, says: [`${box.at('nope.yaml')}: cannot read the file (ENOENT)`] },
  { name: 'validate: a directory', argv: ['validate', box.dir], exit: 1, says: [`${box.dir}: not a file (give the campaign's YAML or JSON file)`] },
  { name: 'validate: YAML syntax error', argv: ['validate', box.file('syntax.yaml', 'system:\n  name: Si\n elements: [Si]\n')], exit: 1, says: [/syntax\.yaml: .*line 3/] },
  {
    name: 'validate: YAML alias bomb',
    argv: ['validate', box.file('bomb.yaml', ['a: &a [x,x,x,x,x,x,x,x,x,x]', ...'bcdefghi'.split('').map((n, i) => `${n}: &${n} [${Array(10).fill(`*${'abcdefghi'[i]}`).join(',')}]`), 'system: *i'].join('\n'))],
    exit: 1,
    says: [/bomb\.yaml: Excessive alias count.*a campaign needs no YAML aliases/],
   
  },
  { name: 'validate: a 2 MB file', argv: ['validate', box.file('huge.yaml', `# ${'x'.repeat(2_000_000)}\n`)], exit: 1, says: [/huge\.yaml: 2000003 bytes; a campaign file is a few kB \(limit 1 MB\): is this the right file\?/] },
  { name: 'validate: a list, not a mapping', argv: ['validate', box.file('list.yaml', '- system\n')], exit: 1, says: ['list.yaml: the campaign must be a mapping with at least a "system" section'] },
  { name: 'validate: no system section', argv: ['validate', box.file('nosys.yaml', 'seed: 3\n')], exit: 1, says: ['nosys.yaml: system: is required'] },
  { name: 'validate: unknown key', argv: ['validate', yaml('typo.yaml', { dft: { max_retires: 3 } })], exit: 1, says: ['typo.yaml: dft.max_retires: unknown key (check the spelling; see `autopipe schema`)'] },
  { name: 'validate: a string for a number', argv: ['validate', yaml('type.yaml', { training: { cutoff: 'five' } })], exit: 1, says: ['type.yaml: training.cutoff: must be a number'] },
  { name: 'validate: unknown element', argv: ['validate', yaml('qq.yaml', { system: { elements: ['Si', 'Qq'] } })], exit: 1, says: ['qq.yaml: system.elements.1: unknown element "Qq"'] },
  { name: 'validate: an element listed twice', argv: ['validate', yaml('twice.yaml', { system: { elements: ['Si', 'Si'] } })], exit: 1, says: ['twice.yaml: system.elements: list each element once (got Si, Si)'] },
  { name: 'validate: kspacing 0', argv: ['validate', yaml('k0.yaml', { dft: { kspacing: 0 } })], exit: 1, says: ['k0.yaml: dft.kspacing: must be > 0'] },
  { name: 'validate: gamma_select above gamma_halt', argv: ['validate', yaml('gamma.yaml', { exploration: { gamma_select: 6 } })], exit: 1, says: ['gamma.yaml: exploration.gamma_select: must be < exploration.gamma_halt'] },
  { name: 'validate: accept_threshold above dft_threshold', argv: ['validate', yaml('acc.yaml', { teacher: { accept_threshold: 0.5 } })], exit: 1, says: ['acc.yaml: teacher.accept_threshold: must be <= teacher.dft_threshold'] },
  {
    name: 'validate: teacher.kind chgnet with two model files',
    argv: ['validate', yaml('chgnet2.yaml', { teacher: { kind: 'chgnet', models: ['a.pt', 'b.pt'] } })],
    exit: 1,
    says: ["chgnet2.yaml: teacher.models: teacher.kind chgnet takes no file (its wheel's weights) or one fine-tuned CHGNet file, not 2"],
  },
  {
    name: 'validate: a MACE-only teacher key on a CHGNet teacher',
    argv: ['validate', yaml('chgnet-members.yaml', { teacher: { kind: 'chgnet', bootstrap: { members: 3 } } })],
    exit: 1,
    says: ['chgnet-members.yaml: teacher.bootstrap.members: is read only by a MACE teacher; with teacher.kind chgnet it changes nothing'],
  },
  {
    name: 'validate: teacher.kind sevennet with a model file',
    argv: ['validate', yaml('7net-models.yaml', { teacher: { kind: 'sevennet', models: ['a.pt'] } })],
    exit: 1,
    says: ["7net-models.yaml: teacher.models: teacher.kind sevennet starts from SevenNet-0's weights in the sevenn wheel and takes no file: remove teacher.models"],
  },
  {
    name: 'validate: a fine-tune key on a zero-shot SevenNet teacher (max_epochs 0)',
    argv: ['validate', yaml('7net-ft.yaml', { teacher: { kind: 'sevennet', finetune: { max_epochs: 0, lr: 0.001 } } })],
    exit: 1,
    says: ['7net-ft.yaml: teacher.finetune.lr: is not read with teacher.finetune.max_epochs 0 (the teacher is never fine-tuned'],
  },
  {
    name: "validate: MACE's fine-tune keys on a SevenNet teacher",
    argv: ['validate', yaml('7net-e0s.yaml', { teacher: { kind: 'sevennet', finetune: { e0s: 'estimated' } } })],
    exit: 1,
    says: ['7net-e0s.yaml: teacher.finetune.e0s: is not read with teacher.kind sevennet, so it would change nothing: SevenNet-0 is one model'],
  },
  {
    name: 'validate: committee and bootstrap keys on a SevenNet teacher, each named',
    argv: ['validate', yaml('7net-mace.yaml', { teacher: { kind: 'sevennet', accept_threshold: 0.01, bootstrap: { members: 3 } } })],
    exit: 1,
    says: [
      '7net-mace.yaml: teacher.accept_threshold: is not read with teacher.kind sevennet',
      '7net-mace.yaml: teacher.bootstrap.members: is not read with teacher.kind sevennet',
      'Remove it, or use teacher.kind mace',
    ],
  },
  { name: 'validate: generation.count 100000000', argv: ['validate', yaml('count.yaml', { generation: { count: 100_000_000 } })], exit: 1, says: ['count.yaml: generation.count: must be <= 100000 (generate larger pools in batches)'] },
  { name: 'validate: dft.limits.max_atoms 0', argv: ['validate', yaml('lim.yaml', { dft: { limits: { max_atoms: 0 } } })], exit: 1, says: ['lim.yaml: dft.limits.max_atoms: must be > 0'] },
  { name: 'validate: a pseudopotential for an element not in the system', argv: ['validate', yaml('fe.yaml', { dft: { pseudopotentials: { Fe: 'Fe.pz-nd-rrkjus.UPF' } } })], exit: 1, says: ['fe.yaml: dft.pseudopotentials.Fe: "Fe" is not in system.elements'] },
  { name: 'validate: a campaign id with a path in it', argv: ['validate', yaml('id.yaml', { id: '../../etc/bad id' })], exit: 1, says: [/id\.yaml: id: use 1-128 letters, digits, "\.", "_" or "-", starting with a letter or digit \(no "\.\."\)/] },
  { name: 'validate: id ".."', argv: ['validate', yaml('dots.yaml', { id: '..' })], exit: 1, says: ['dots.yaml: id: use 1-128 letters'] },
  { name: 'validate: a missing pseudopotential file', argv: ['validate', yaml('nopseudo.yaml', { dft: { pseudopotentials: { Si: 'Si.nothing.UPF' } } })], exit: 1, says: ['nopseudo.yaml: dft.pseudopotentials.Si: file /usr/share/espresso/pseudo/Si.nothing.UPF not found'] },
  {
    name: 'validate: a pseudopotential named ../../../../etc/passwd',
    argv: ['validate', yaml('passwd.yaml', { dft: { pseudopotentials: { Si: '../../../../etc/passwd' } } })],
    exit: 1,
    says: ['passwd.yaml: dft.pseudopotentials.Si: "../../../../etc/passwd" must be a file name inside dft.pseudo_dir (/usr/share/espresso/pseudo), not a path'],
   
  },
  { name: 'validate: pseudo_dir that does not exist', argv: ['validate', yaml('pdir.yaml', { dft: { pseudo_dir: box.at('no-pseudos') } })], exit: 1, says: [`pdir.yaml: dft.pseudopotentials.Si: file ${box.at('no-pseudos')}/Si.pz-vbc.UPF not found`] },
  { name: 'validate: a pseudopotential that is not a UPF file', argv: ['validate', yaml('notupf.yaml', { dft: { pseudo_dir: box.dir, pseudopotentials: { Si: 'good.yaml' } } })], exit: 1, says: [`notupf.yaml: dft.pseudopotentials.Si: ${box.at('good.yaml')} is not a UPF file (no z_valence in its header)`] },
  {
    name: 'validate: teacher.models file missing',
    argv: ['validate', yaml('model.yaml', { teacher: { models: ['models/si.model'] } })],
    exit: 1,
    says: [`model.yaml: teacher.models.0: ${box.at('models/si.model')} not found (a MACE model file): fix the path, or remove teacher.models to bootstrap a committee from DFT`],
   
  },
  { name: 'validate: replay_file missing', argv: ['validate', yaml('replay.yaml', { teacher: { finetune: { replay_file: 'replay.extxyz' } } })], exit: 1, says: [`replay.yaml: teacher.finetune.replay_file: ${box.at('replay.extxyz')} not found (an extxyz replay set): fix the path or remove the key`] },
  {
    name: 'validate: structure_file missing',
    argv: ['validate', yaml('nostruct.yaml', { system: { prototype: undefined, structure_file: 'cell.cif' } })],
    exit: 1,
    says: [`nostruct.yaml: system.structure_file: ${box.at('cell.cif')} not found (any ASE-readable structure file): fix the path (relative paths are relative to the campaign file)`],
   
  },
  {
    name: 'validate: run_directory in /etc',
    argv: ['validate', yaml('etc.yaml', { run_directory: '/etc/autopipe-catalogue' })],
    exit: 1,
    says: [/etc\.yaml: run_directory: \/etc\/autopipe-catalogue is outside the allowed run roots \(.*\): use a directory below runs\/, or add its parent to AUTOPIPE_RUN_ROOTS/],
    notCreated: ['/etc/autopipe-catalogue'],
   
  },
  { name: 'validate: run_directory /', argv: ['validate', yaml('root.yaml', { run_directory: '/' })], exit: 1, says: ['root.yaml: run_directory: / is outside the allowed run roots'], notCreated: ['/logs'] },
  { name: 'validate: run_directory is the runs/ root itself', argv: ['validate', yaml('runsroot.yaml', { run_directory: box.dir.replace(/\/[^/]+$/, '') })], exit: 1, says: [/run_directory: \S+ is a root of all runs, not a run directory/] },
  { name: 'validate: exploration.max_atoms_dft above dft.limits.max_atoms', argv: ['validate', yaml('maxat.yaml', { exploration: { max_atoms_dft: 5000 } })], exit: 1, says: ['maxat.yaml: exploration.max_atoms_dft: 5000 is above dft.limits.max_atoms (1000): DFT would refuse the cells exploration sends it'] },
  { name: 'validate: no file given', argv: ['validate'], exit: 2, says: ["autopipe validate: missing required argument 'file'", '(see `autopipe validate --help`)'] },
  { name: 'validate: two files', argv: ['validate', good, good], exit: 2, says: ['autopipe validate: too many arguments', '(see `autopipe validate --help`)'] },
  { name: 'schema: an argument', argv: ['schema', 'x'], exit: 2, says: ['autopipe schema: too many arguments'] },

  // --- start: checked before a server is contacted
  { name: 'start: an id with a path in it', argv: ['start', good, '--id', '../../etc/bad id'], env: offline, exit: 2, says: ['autopipe start: --id: "../../etc/bad id" is not a valid id: use 1-128 letters'], notCreated: ['/etc/bad id'] },
  { name: 'start: an invalid campaign', argv: ['start', yaml('start-bad.yaml', { dft: { kspacing: -1 } })], env: offline, exit: 1, says: ['start-bad.yaml: dft.kspacing: must be > 0'] },
  { name: 'start: run_directory in /etc', argv: ['start', yaml('start-etc.yaml', { run_directory: '/etc/autopipe-start' })], env: offline, exit: 1, says: ['start-etc.yaml: run_directory: /etc/autopipe-start is outside the allowed run roots'], notCreated: ['/etc/autopipe-start'] },
  { name: 'start: a missing teacher model', argv: ['start', yaml('start-model.yaml', { teacher: { models: ['gone.model'] } })], env: offline, exit: 1, says: [`start-model.yaml: teacher.models.0: ${box.at('gone.model')} not found`] },
  { name: 'start: no file', argv: ['start'], exit: 2, says: ["autopipe start: missing required argument 'campaign'"] },

  // --- campaign commands without a server
  { name: 'status: no id', argv: ['status'], exit: 2, says: ["autopipe status: missing required argument 'id'"] },
  { name: 'status: server unreachable (TEMPORAL_ADDRESS)', argv: ['status', 'si-1'], env: offline, exit: 1, says: ['autopipe status: cannot reach the Temporal service at 127.0.0.1:1 (ECONNREFUSED): check TEMPORAL_ADDRESS'] },
  {
    name: 'list: embedded server not running',
    argv: ['list'],
    env: { TEMPORAL_ADDRESS: undefined, AUTOPIPE_TEMPORAL_PORT: '1' },
    exit: 1,
    says: ['autopipe list: cannot reach the Temporal service at 127.0.0.1:1 (ECONNREFUSED): start the embedded server with `autopipe server start`'],
   
  },
  { name: 'watch: interval 0', argv: ['watch', 'si-1', '--interval', '0'], env: offline, exit: 2, says: ['autopipe watch: --interval must be a number of seconds > 0 (got "0")'] },
  { name: 'pause: no id', argv: ['pause'], exit: 2, says: ["autopipe pause: missing required argument 'id'"] },
  { name: 'resume: two ids', argv: ['resume', 'a', 'b'], exit: 2, says: ['autopipe resume: too many arguments'] },
  { name: 'tune: no pairs', argv: ['tune', 'si-1'], env: offline, exit: 2, says: ['autopipe tune: tune needs KEY=VALUE pairs, e.g. gamma_select=2 dft_total=40'] },
  { name: 'tune: not a number', argv: ['tune', 'si-1', 'gamma_select=high'], env: offline, exit: 2, says: ['autopipe tune: "gamma_select=high" is not KEY=NUMBER'] },
  { name: 'tune: two = signs', argv: ['tune', 'si-1', 'gamma_select=1=2'], env: offline, exit: 2, says: ['autopipe tune: "gamma_select=1=2" is not KEY=NUMBER'] },

  // --- worker, server, unknown commands
  { name: 'worker: unknown queue', argv: ['worker', '--queues', 'gpu'], exit: 2, says: ['autopipe worker: --queues: unknown queue gpu (choose from control, dft, ml)'] },
  { name: 'worker: zero slots', argv: ['worker', '--slots', 'dft=0'], exit: 2, says: ['autopipe worker: --slots: "dft=0" must look like dft=2'] },
  { name: 'worker: slots without a number', argv: ['worker', '--slots', 'dft='], exit: 2, says: ['autopipe worker: --slots: "dft=" must look like dft=2'] },
  { name: 'worker: negative grace', argv: ['worker', '--grace', '-5'], exit: 2, says: ['autopipe worker: --grace must be a number of seconds >= 0'] },
  { name: 'server: unknown subcommand', argv: ['server', 'restart'], exit: 2, says: ["autopipe server: unknown command 'restart'"] },
  { name: 'unknown command', argv: ['frobnicate'], exit: 2, says: ["autopipe: unknown command 'frobnicate'", '(see `autopipe --help`)'] },
  { name: 'doctor: unknown option', argv: ['doctor', '--fix'], exit: 2, says: ["autopipe doctor: unknown option '--fix'"] },
  { name: 'demo: campaign file missing', argv: ['demo', box.at('demo.yaml')], env: offline, exit: 1, says: [`${box.at('demo.yaml')}: cannot read the file (ENOENT)`] },

  // --- label, teacher: arguments
  { name: 'label: no oracle', argv: ['label'], exit: 2, says: ['Usage: autopipe label'] },
  { name: 'label: unknown oracle', argv: ['label', 'mace', 'x.xyz'], exit: 2, says: ["autopipe label: unknown command 'mace'"] },
  { name: 'label dft: no --config', argv: ['label', 'dft', box.at('x.xyz'), '--out', box.at('o.extxyz')], exit: 2, says: ['autopipe label dft: --config CAMPAIGN.yaml is required (its dft section is used)'] },
  { name: 'label dft: no --out', argv: ['label', 'dft', box.at('x.xyz'), '--config', good], exit: 2, says: ['autopipe label dft: --out OUT.extxyz is required'] },
  { name: 'label dft: input missing', argv: ['label', 'dft', box.at('missing.xyz'), '--config', good, '--out', box.at('o.extxyz')], env: offline, exit: 1, says: [`${box.at('missing.xyz')}: no such file`] },
  { name: 'label dft: --out is a directory', argv: ['label', 'dft', good, '--config', good, '--out', box.dir], env: offline, exit: 2, says: [`autopipe label dft: --out ${box.dir} is a directory: give the extxyz file to write, e.g. ${box.at('labels.extxyz')}`] },
  { name: 'label dft: --out in a missing folder', argv: ['label', 'dft', good, '--config', good, '--out', box.at('no/such/o.extxyz')], env: offline, exit: 1, says: [`autopipe label dft: --out ${box.at('no/such/o.extxyz')}: the folder ${box.at('no/such')} does not exist (create it first)`] },
  { name: 'label dft: --run-dir in /etc', argv: ['label', 'dft', good, '--config', good, '--out', box.at('o.extxyz'), '--run-dir', '/etc/autopipe-label'], env: offline, exit: 1, says: ['autopipe label dft: --run-dir: /etc/autopipe-label is outside the allowed run roots'], notCreated: ['/etc/autopipe-label'] },
  { name: 'label dft: pseudopotential outside pseudo_dir', argv: ['label', 'dft', good, '--config', box.at('passwd.yaml'), '--out', box.at('o.extxyz'), '--run-dir', run], env: offline, exit: 1, says: ['passwd.yaml: dft.pseudopotentials.Si: "../../../../etc/passwd" must be a file name inside dft.pseudo_dir'] },
  { name: 'teacher: no subcommand', argv: ['teacher'], exit: 2, says: ['Usage: autopipe teacher'] },
  { name: 'teacher bootstrap: no --config', argv: ['teacher', 'bootstrap'], exit: 2, says: ['autopipe teacher bootstrap: --config CAMPAIGN.yaml is required'] },
  { name: 'teacher bootstrap: invalid campaign', argv: ['teacher', 'bootstrap', '--config', yaml('tb.yaml', { teacher: { bootstrap: { members: 1 } } })], env: offline, exit: 1, says: ['tb.yaml: teacher.bootstrap.members: must be >= 2 (a committee)'] },
  {
    name: 'teacher bootstrap: a SevenNet teacher is bootstrapped by its campaign',
    argv: ['teacher', 'bootstrap', '--config', yaml('tb7.yaml', { teacher: { kind: 'sevennet' } })],
    env: offline,
    exit: 1,
    says: ['tb7.yaml: teacher.kind sevennet: there is nothing to bootstrap here (teacher.models takes no file with it); a campaign fine-tunes SevenNet-0'],
  },
  { name: 'teacher bootstrap: --run-dir /', argv: ['teacher', 'bootstrap', '--config', good, '--run-dir', '/'], env: offline, exit: 1, says: ['good.yaml: run directory: / is outside the allowed run roots'] },

  // --- generate, dataset, train, select, gamma: arguments
  { name: 'generate: no --config', argv: ['generate'], exit: 2, says: ['autopipe generate: --config CAMPAIGN.yaml is required'] },
  { name: 'generate: --count ten', argv: ['generate', '--config', good, '--count', 'ten'], exit: 2, says: ['autopipe generate: --count must be an integer from 1 to 100000 (got "ten")'] },
  { name: 'generate: --count 100000000', argv: ['generate', '--config', good, '--count', '100000000'], exit: 2, says: ['autopipe generate: --count must be an integer from 1 to 100000 (got "100000000")'], harmfulBefore: true },
  { name: 'generate: --generation without --insert', argv: ['generate', '--config', good, '--generation', '1'], exit: 2, says: ['autopipe generate: --generation, --source and --on-duplicate only apply with --insert'] },
  { name: 'generate: --on-duplicate maybe', argv: ['generate', '--config', good, '--insert', '--on-duplicate', 'maybe'], exit: 2, says: ['autopipe generate: --on-duplicate must be error or skip (got "maybe")'] },
  { name: 'generate: --run-dir in /etc', argv: ['generate', '--config', good, '--run-dir', '/etc/autopipe-gen'], exit: 1, says: ['autopipe generate: --run-dir: /etc/autopipe-gen is outside the allowed run roots'], notCreated: ['/etc/autopipe-gen'] },
  { name: 'generate: a positional argument', argv: ['generate', 'extra', '--config', good], exit: 2, says: ['autopipe generate: too many arguments'] },
  { name: 'dataset: no subcommand', argv: ['dataset'], exit: 2, says: ['Usage: autopipe dataset'] },
  { name: 'dataset export: no run', argv: ['dataset', 'export'], exit: 2, says: ['autopipe dataset export: give --run-dir DIR or --config CAMPAIGN.yaml'] },
  { name: 'dataset export: a typo in --run-dir', argv: ['dataset', 'export', '--run-dir', box.at('rnu')], exit: 1, says: [`autopipe dataset export: --run-dir: no run store at ${box.at('rnu')}/store.sqlite: check the directory name`], notCreated: [box.at('rnu')] },
  { name: 'dataset export: --format csv', argv: ['dataset', 'export', '--run-dir', run, '--format', 'csv'], exit: 2, says: ['autopipe dataset export: --format: choose from pckl, extxyz or both (got csv)'] },
  { name: 'dataset export: --generation and --generation-max', argv: ['dataset', 'export', '--run-dir', run, '--generation', '1', '--generation-max', '2'], exit: 2, says: ['give --generation or --generation-max, not both'] },
  { name: 'dataset export: weights not numbers', argv: ['dataset', 'export', '--run-dir', run, '--weights', 'dft=heavy'], exit: 2, says: ['autopipe dataset export: --weights: "dft=heavy" must look like NAME=NUMBER'] },
  { name: 'dataset export: test fraction 1', argv: ['dataset', 'export', '--run-dir', run, '--test-fraction', '1'], exit: 2, says: ['--test-fraction must be a number from 0 to 0.99 (got "1")'] },
  { name: 'dataset export: --split bogus', argv: ['dataset', 'export', '--run-dir', run, '--split', 'bogus'], exit: 2, says: ['autopipe dataset export: --split: choose from train, validation, test (got bogus)'] },
  { name: 'dataset import: no file', argv: ['dataset', 'import'], exit: 2, says: ["autopipe dataset import: missing required argument 'file'"] },
  { name: 'dataset import: --run-dir in /etc', argv: ['dataset', 'import', good, '--run-dir', '/etc/autopipe-ds'], exit: 1, says: ['autopipe dataset import: --run-dir: /etc/autopipe-ds is outside the allowed run roots'], notCreated: ['/etc/autopipe-ds'] },
  { name: 'dataset import: --min-distance -1', argv: ['dataset', 'import', good, '--run-dir', run, '--min-distance', '-1'], exit: 2, says: ['--min-distance must be a number >= 0 (got "-1")'] },
  { name: 'train: no --dataset', argv: ['train', '--config', good], exit: 2, says: ['autopipe train: --dataset D.pckl.gzip is required'] },
  { name: 'train: --incremental sideways', argv: ['train', '--dataset', 'd.pckl.gzip', '--config', good, '--incremental', 'sideways'], exit: 2, says: ['autopipe train: --incremental must be auto, continue or grow (got "sideways")'] },
  { name: 'train: --maxiter 0', argv: ['train', '--dataset', 'd.pckl.gzip', '--config', good, '--maxiter', '0'], exit: 2, says: ['autopipe train: --maxiter must be a positive integer (got "0")'] },
  { name: 'train: --out in /etc', argv: ['train', '--dataset', 'd.pckl.gzip', '--config', good, '--out', '/etc/autopipe-fit'], exit: 1, says: ['autopipe train: --out: /etc/autopipe-fit is outside the allowed run roots'], notCreated: ['/etc/autopipe-fit'] },
  { name: 'select: no -n', argv: ['select', 'c.extxyz'], exit: 2, says: ['autopipe select: -n N (how many structures to pick) is required'] },
  { name: 'select: -n 0', argv: ['select', 'c.extxyz', '-n', '0'], exit: 2, says: ['autopipe select: -n must be a positive integer (got "0")'] },
  { name: 'select: neither potential nor campaign', argv: ['select', 'c.extxyz', '-n', '3'], exit: 2, says: ["autopipe select: give --potential P.yaml, or --config C to use the campaign's unfitted basis"] },
  { name: 'gamma: no --potential', argv: ['gamma', 'c.extxyz'], exit: 2, says: ['autopipe gamma: --potential P.yaml is required'] },
  { name: 'gamma: a negative threshold', argv: ['gamma', 'c.extxyz', '--potential', 'p.yaml', '--threshold', '1.5,-5'], exit: 2, says: ['autopipe gamma: --threshold must be positive numbers separated by commas (got "1.5,-5")'] },
];

describe('bad-input catalogue: arguments and campaign files', () => {
  it.each(cases)('$name', (c) => checkBadInput(c, box));
});

export const count = cases.length;
