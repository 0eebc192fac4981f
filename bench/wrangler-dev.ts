/**
 * `wrangler dev` for a bench Worker (bench/workers/wrangler.toml): the launcher the tests use
 * (test/support/wrangler-dev.ts: offline, free loopback ports, a temporary `--persist-to` folder
 * removed on stop, its own process group), with a longer start timeout, as the bench machine is
 * busy while it runs.
 */
import { startWranglerDev as start, type WranglerDev } from '../test/support/wrangler-dev.js';

export type { WranglerDev };

/** How long one `wrangler dev` start may take (about 2 s when idle; the bench machine is busy). */
const BENCH_READY_TIMEOUT_MS = 60_000;

/** `wrangler dev -c <config>`, resolved once it serves; rejects with its output otherwise. */
export function startWranglerDev(config: string): Promise<WranglerDev> {
  return start(config, { readyTimeoutMs: BENCH_READY_TIMEOUT_MS });
}
