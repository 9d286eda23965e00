// Every command module, in the order `autopipe --help` lists them. A module registers its command(s)
// with their flags, help and examples; its heavy imports happen inside the action, so `--help` and the
// quick commands stay fast. Modules import from ../command-kit, ../args and ../errors, never from here.
import type { Register } from '../command-kit';
import { register as campaign } from './campaign';
import { register as dataset } from './dataset';
import { register as demo } from './demo';
import { register as doctor } from './doctor';
import { register as evaluate } from './evaluate';
import { register as gamma } from './gamma';
import { register as generate } from './generate';
import { register as label } from './label';
import { register as select } from './select';
import { register as server } from './server';
import { register as teacher } from './teacher';
import { register as train } from './train';
import { register as validate } from './validate';
import { register as worker } from './worker';

export const commandGroups: Register[] = [doctor, server, worker, validate, demo, campaign, label, teacher, generate, dataset, train, select, gamma, evaluate];
