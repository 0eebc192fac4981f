/**
 * The handshake between a measured script and `run.sh`: callgrind counts only between
 * `phase('start')` and `phase('end')`, so building the data (and the JIT warming up on it) is
 * left out. Outside `run.sh` (no COUNTS in the environment) both calls return at once.
 *
 * How: the script prints a marker line and waits for a flag file; run.sh sees the marker, sends
 * callgrind the command (instrumentation on, or dump), then creates the flag.
 */
import { existsSync } from 'node:fs';

/** How long a script waits for run.sh to answer a marker, in milliseconds. */
const HANDSHAKE_MS_MAX = 60_000;
const POLL_MS = 10;

export async function phase(name: 'start' | 'end'): Promise<void> {
  if (!process.env.COUNTS) return;
  console.log(`@@${name}`);
  const flag = `/tmp/counts-flag.${process.pid}.${name}`;
  for (let waited = 0; !existsSync(flag); waited += POLL_MS) {
    if (waited > HANDSHAKE_MS_MAX) throw new Error(`no answer from run.sh to phase ${name}`);
    await new Promise((resume) => setTimeout(resume, POLL_MS));
  }
}
