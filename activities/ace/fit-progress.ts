// Pacemaker's log lines -> one heartbeat per fit iteration. Pacemaker prints a one-line summary for most
// iterations ("Iteration   #12   (15 evals):   Loss: 1.2e-03 | RMSE Energy(low): 3.10 (3.10) meV/at |
// Forces(low): 40.1 (40.1) meV/A | ...") and, every display_step, a multi-line block ("FIT STATS" or
// "TEST STATS") whose "Iteration:  #N  Loss:  Total: L" and "RMSE:" lines carry the same numbers.

export interface FitProgress {
  iteration: number;
  loss: number;
  rmse_energy_mev_atom: number;
  rmse_forces_mev_a: number;
  test_loss?: number;
  test_rmse_energy_mev_atom?: number;
  test_rmse_forces_mev_a?: number;
  maxiter?: number;
}

const ONE_LINE = /(?:^|\s)(?:Iteration|Initial state:)\s*#(\d+)\s+\(\d+ evals\):\s+Loss:\s*([-\d.eE+]+)\s*\|\s*RMSE Energy\(low\):\s*([-\d.eE+]+).*?Forces\(low\):\s*([-\d.eE+]+)/;
const BLOCK_HEAD = /^-{5,}([A-Za-z :]+?)-{5,}\s*$/;
const BLOCK_ITER = /^Iteration:\s+#(\d+)\s+Loss:\s+Total:\s+([-\d.eE+]+)/;
const BLOCK_RMSE = /^\s*RMSE:\s+([-\d.eE+]+)\s+[-\d.eE+]+\s+([-\d.eE+]+)/;

/** A stateful line parser: returns heartbeat details when a line completes an iteration's numbers. */
export function fitProgressParser(maxiter?: number): (line: string) => FitProgress | undefined {
  let block: { test: boolean; iteration?: number; loss?: number } | undefined;
  let last: FitProgress | undefined;
  return (line: string) => {
    const one = line.match(ONE_LINE);
    if (one && !/TEST/.test(line)) {
      last = { iteration: Number(one[1]), loss: Number(one[2]), rmse_energy_mev_atom: Number(one[3]), rmse_forces_mev_a: Number(one[4]), maxiter };
      return last;
    }
    const head = line.match(BLOCK_HEAD);
    if (head) {
      block = { test: /TEST/.test(head[1]!) };
      return undefined;
    }
    if (!block) return undefined;
    const it = line.match(BLOCK_ITER);
    if (it) {
      block.iteration = Number(it[1]);
      block.loss = Number(it[2]);
      return undefined;
    }
    const rmse = line.match(BLOCK_RMSE);
    if (rmse && block.iteration !== undefined) {
      const b = block;
      block = undefined;
      if (!b.test) {
        last = { iteration: b.iteration!, loss: b.loss!, rmse_energy_mev_atom: Number(rmse[1]), rmse_forces_mev_a: Number(rmse[2]), maxiter };
        return last;
      }
      if (last && last.iteration === b.iteration) {
        last = { ...last, test_loss: b.loss, test_rmse_energy_mev_atom: Number(rmse[1]), test_rmse_forces_mev_a: Number(rmse[2]) };
        return last;
      }
    }
    return undefined;
  };
}
