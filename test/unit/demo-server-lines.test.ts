// The demo leaves its server up for the UI and says how to stop it, but only when it is the embedded
// server `autopipe server stop` can stop; a server of the user's own (TEMPORAL_ADDRESS) is only named.
import { describe, expect, it } from 'vitest';
import { serverLines } from '../../cli/demo';
import { temporalSettings } from '../../host/temporal-config';

describe('demo: where the history stays', () => {
  it('embedded server: the UI address of the campaign and the stop command', () => {
    const lines = serverLines(temporalSettings({ AUTOPIPE_TEMPORAL_PORT: '7350', AUTOPIPE_TEMPORAL_UI_PORT: '8350' }), 'Si-demo-1');
    expect(lines.join('\n')).toContain('http://127.0.0.1:8350/namespaces/autopipe/workflows/Si-demo-1');
    expect(lines.join('\n')).toContain('node bin/autopipe.mjs server stop');
  });

  it("the user's own server (TEMPORAL_ADDRESS): named, and no stop command that would not stop it", () => {
    const lines = serverLines(temporalSettings({ TEMPORAL_ADDRESS: 'temporal.example.org:7233', TEMPORAL_NAMESPACE: 'lab' }), 'Si-demo-1');
    expect(lines).toEqual(["  The campaign's history stays on your Temporal server at temporal.example.org:7233, namespace lab."]);
  });
});
