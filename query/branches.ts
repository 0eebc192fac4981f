/**
 * Branches: a database that shares its parent's history up to a fork point without copying it,
 * then diverges.
 *
 * A branch has a store of its own and sees its parent through a ForkStore (storage/fork.ts):
 * the parent's log segments below the fork point and the parent's B-tree pages are read through
 * from the parent; everything the branch writes stays in its own store. At creation:
 * - the log segment holding the fork LSN is copied, cut right after the fork commit, so the
 *   branch's log ends exactly at the fork (one segment at most, <= 1 MiB, is copied);
 * - forking at the parent's latest state copies its checkpoint record (two small keys): the
 *   branch starts from the very same copy-on-write pages. Forking at a past LSN starts from an
 *   empty table store and replays the shared log up to the fork on open;
 * - the parent records the branch (`branch/<name>`) and from then on keeps the pages its
 *   checkpoints retire, since the branch's base checkpoint may still use them.
 * Neither side ever sees the other's later writes: the parent's later log lies above the cutoff,
 * its later pages are new ids only it references, and the branch writes only to its own store.
 */
import { pack, unpack } from '../base/codec.js';
import { DosqlError } from '../base/errors.js';
import { decodeFrames } from '../log/record.js';
import { LOG_KEY_PREFIX, segmentKey } from '../log/lsn.js';
import { META_KEYS } from '../materializers/tables.js';
import { ForkStore } from '../storage/fork.js';
import type { ByteStore } from '../storage/types.js';

export interface BranchInfo {
  name: string;
  /** The branch holds the parent's history up to and including the commit at this LSN. */
  forkLsn: bigint;
  /** When the branch was made, Unix ms. */
  createdAt: number;
}

/** Key prefix of the parent's records of its branches. */
const BRANCH_KEY_PREFIX = 'branch/';
/** Key in a branch's own store describing its fork. */
const FORK_INFO_KEY = 'fork-info';
/** Prefix of B-tree page keys (materializers/tables.ts), shared with the parent. */
const PAGE_KEY_PREFIX = 'tbl/';
export const BRANCH_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

interface ForkInfo {
  forkLsn: bigint;
  /** Parent log segments with keys below this are shared; the one at it was copied, cut. */
  logCutoffKey: string;
}

export function checkBranchName(name: unknown): string {
  if (typeof name !== 'string' || !BRANCH_NAME_PATTERN.test(name) || name === '.' || name === '..') {
    throw new DosqlError('MISUSE', `branch names are 1-64 characters of A-Z a-z 0-9 _ . -; got ${JSON.stringify(name)}`);
  }
  return name;
}

export async function listBranches(store: ByteStore): Promise<BranchInfo[]> {
  const rows = await store.list({ prefix: BRANCH_KEY_PREFIX });
  return rows.map(([, v]) => unpack(v) as BranchInfo).map((b) => ({ ...b, forkLsn: BigInt(b.forkLsn) }));
}

export async function recordBranch(store: ByteStore, info: BranchInfo): Promise<void> {
  await store.put(BRANCH_KEY_PREFIX + info.name, pack(info));
}

export async function forgetBranch(store: ByteStore, name: string): Promise<void> {
  await store.delete(BRANCH_KEY_PREFIX + name);
}

/**
 * Fill a new branch's own store so that `openFork(parent, own)` shows `parent` as of `forkLsn`.
 * `withCheckpoint`: the parent's checkpoint is exactly at forkLsn, so the branch reuses it.
 */
export async function prepareFork(parent: ByteStore, own: ByteStore, forkLsn: bigint, withCheckpoint: boolean): Promise<void> {
  let logCutoffKey = LOG_KEY_PREFIX; // nothing shared when forking an empty log
  if (forkLsn > 0n) {
    const [last] = await parent.list({ prefix: LOG_KEY_PREFIX, end: segmentKey(forkLsn + 1n), reverse: true, limit: 1 });
    if (!last) throw new DosqlError('CORRUPT', `no log segment holds LSN ${forkLsn}`);
    const [key, bytes] = last;
    const frames = decodeFrames(bytes);
    const i = frames.records.findIndex((r) => r.lsn === forkLsn);
    if (i < 0 || frames.records[i]!.kind !== 'commit') throw new DosqlError('RANGE', `LSN ${forkLsn} is not a commit; branch at a commit LSN`);
    await own.put(key, bytes.slice(0, frames.ends[i]!));
    logCutoffKey = key;
  }
  if (withCheckpoint) {
    const metas = await parent.getMany([...META_KEYS]);
    if (metas.size) await own.write({ put: [...metas] });
  }
  await own.put(FORK_INFO_KEY, pack({ forkLsn, logCutoffKey } satisfies ForkInfo));
}

/** The branch's view: its own store over the parent's shared keys. */
export async function openFork(parent: ByteStore, own: ByteStore): Promise<ForkStore> {
  const bytes = await own.get(FORK_INFO_KEY);
  if (!bytes) throw new DosqlError('ERROR', 'no such branch (its store has no fork record)');
  const info = unpack(bytes) as ForkInfo;
  return new ForkStore(own, parent, [
    { prefix: LOG_KEY_PREFIX, below: info.logCutoffKey, list: true },
    { prefix: PAGE_KEY_PREFIX, list: false },
  ]);
}
