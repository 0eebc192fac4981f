/**
 * The server under `wrangler dev` with a fresh token, for the load test (test/load/cdc-load.test.ts)
 * and bench/cdc-remote.ts: test/support/wrangler-dev.ts with wrangler's info output kept, which
 * the load test prints when subscribers fall behind (reloads show there). `startWrangler` rejects
 * with wrangler's output when it cannot start; callers skip.
 */
import { startServerDev, type ServerDev } from '../support/wrangler-dev.js';

export type Wrangler = ServerDev;

export function startWrangler(): Promise<Wrangler> {
  return startServerDev(`load-${Math.random().toString(36).slice(2)}`, { logLevel: 'info' });
}
