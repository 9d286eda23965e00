// `autopipe server start|stop|status`: the embedded Temporal dev server (host/server.ts).
import type { Register } from '../command-kit';
import { examples } from '../command-kit';

export const register: Register = (program, act) => {
  const server = program
    .command('server')
    .description('the embedded Temporal dev server on 127.0.0.1 (SQLite in .state/, namespace autopipe)')
    .addHelpText('after', examples('autopipe server start', 'AUTOPIPE_TEMPORAL_PORT=7330 AUTOPIPE_TEMPORAL_UI_PORT=8330 autopipe server start', 'autopipe server status'));
  server
    .command('start')
    .description('start the embedded server, or reuse the one answering on the address')
    .option('--headless', 'without the web UI')
    .option('--ip <addr>', 'listen on 127.0.0.1 (default) or 0.0.0.0 (all interfaces: workers on other hosts, docs/hpc.md)')
    .addHelpText('after', examples('autopipe server start --headless', 'autopipe server start --ip 0.0.0.0'))
    .action(
      act(async (opts: { headless?: boolean; ip?: string }) => {
        if (opts.ip) process.env.AUTOPIPE_TEMPORAL_IP = opts.ip;
        const { startServer } = await import('../../host/server');
        const { temporalSettings, uiUrl } = await import('../../host/temporal-config');
        const s = temporalSettings();
        const st = await startServer({ headless: opts.headless });
        console.log(`${st.started ? 'started' : 'already running'}: ${st.address} namespace ${st.namespace}${s.external ? '' : `; UI ${uiUrl(s)}`}`);
        return 0;
      }),
    );
  server
    .command('stop')
    .description('stop the embedded server this project started')
    .addHelpText('after', examples('autopipe server stop'))
    .action(
      act(async () => {
        const { stopServer } = await import('../../host/server');
        console.log((await stopServer()) ? 'stopped' : 'no embedded server was running');
        return 0;
      }),
    );
  server
    .command('status')
    .description('whether the server answers and the namespace is ready (JSON; exit 1 when down)')
    .addHelpText('after', examples('autopipe server status'))
    .action(
      act(async () => {
        const { serverStatus } = await import('../../host/server');
        const st = await serverStatus();
        console.log(JSON.stringify(st, null, 2));
        return st.up ? 0 : 1;
      }),
    );
};
