/**
 * Remote branches: each branch of a database is its own Durable Object,
 * `idFromName(<name> + '/' + <branch>)` (server/routes.ts), whose store is a ForkStore over its
 * own storage and its parent object read by RPC (storage/remote-parent.ts), the same layering
 * query/branches.ts `openFork` builds for a local branch.
 *
 * Making a branch (on the parent, as one call of its host, under the engine lock, mirroring
 * `Database.branch`): resolve the fork LSN (`at`, checked by the engine's own asOf resolution:
 * range and retention), make the log durable, keep retired pages from now on (`retainPages`;
 * the engine sets it again on reopen because the parent records the branch), checkpoint when
 * forking at the head, run `prepareFork` into a MemoryStore (the cut log segment, the checkpoint
 * records, the fork record: a few entries, at most about 1 MiB), and send those entries to the
 * new branch object (`initBranch`), which writes them with the name of its parent. Only then does
 * the parent record the branch (`recordBranch`), so a failed creation leaves no record.
 *
 * Names are unique per database at any depth: a branch of a branch is the object
 * `<name>/<branch>` too, and `initBranch` refuses an object that already is a branch.
 *
 * Dropping: the branch object refuses while it has branches of its own (they read through it),
 * else it stops serving and deletes all its storage; then the parent forgets it. Pages the parent
 * retained for it stay (the engine has no "stop retaining" step yet).
 */
import type { AsOf, BranchInfoWire, WireResult } from '../base/api.js';
import { DosqlError } from '../base/errors.js';
import { checkBranchName, listBranches, prepareFork, recordBranch } from '../query/branches.js';
import { MemoryStore } from '../storage/memory.js';
import type { SharedRead } from '../storage/remote-parent.js';
import type { Access, DatabaseHost } from './host.js';

/** Key, in a branch object's own storage, of its parent's object name (UTF-8). */
export const PARENT_KEY = 'remote-parent';

/** What a branch object offers other objects of the namespace (Durable Object RPC). */
export interface BranchObjectRpc {
  initBranch(parent: string, entries: Array<[string, Uint8Array]>): Promise<WireResult<null>>;
  destroyBranch(): Promise<WireResult<null>>;
  readShared(request: SharedRead): Promise<Array<[string, Uint8Array]>>;
}

/** The branch operations one database (or branch) object serves to its RPC clients. */
export class BranchManager {
  constructor(
    private readonly host: DatabaseHost,
    /** This object's name: `<name>` or `<name>/<branch>`. */
    private readonly objectName: string,
    /** The object of a name in the same namespace. */
    private readonly objectOf: (objectName: string) => BranchObjectRpc,
  ) {}

  branch(name: unknown, options: unknown, access: Access): Promise<WireResult<BranchInfoWire>> {
    return this.host.serve(async (db) => {
      if (access.readOnly) throw new DosqlError('FORBIDDEN', 'this token is read-only: it cannot make branches');
      const branch = checkBranchName(name);
      const at = atOption(options);
      // The engine resolves and checks `at` (after the last commit, before retention: RANGE).
      const forkAt = at === undefined ? undefined : (await db.query('SELECT 1', undefined, { asOf: at })).lsn;
      const child = this.objectOf(`${this.databaseName}/${branch}`);
      const { tables, log, store } = db.internals;
      return db.withLock(async (): Promise<BranchInfoWire> => {
        if ((await listBranches(store)).some((b) => b.name === branch)) throw new DosqlError('ERROR', `branch ${branch} already exists`);
        const forkLsn = forkAt ?? tables.appliedLsn;
        await log.flush();
        tables.retainPages = true;
        const atHead = forkLsn === tables.appliedLsn;
        if (atHead) await tables.checkpoint();
        const seed = new MemoryStore();
        await prepareFork(store, seed, forkLsn, atHead);
        const r = await child.initBranch(this.objectName, await seed.list({}));
        if (!r.ok) throw new DosqlError(r.error.code, r.error.message);
        const info: BranchInfoWire = { name: branch, forkLsn, createdAt: Date.now() };
        await recordBranch(store, info);
        return info;
      });
    });
  }

  branches(): Promise<WireResult<BranchInfoWire[]>> {
    return this.host.serve(async (db) => (await db.branches()).map((b) => ({ name: b.name, forkLsn: b.forkLsn, createdAt: b.createdAt })));
  }

  dropBranch(name: unknown, access: Access): Promise<WireResult<null>> {
    return this.host.serve(async (db) => {
      if (access.readOnly) throw new DosqlError('FORBIDDEN', 'this token is read-only: it cannot drop branches');
      const branch = checkBranchName(name);
      if (!(await db.branches()).some((b) => b.name === branch)) throw new DosqlError('ERROR', `no such branch: ${branch}`);
      const r = await this.objectOf(`${this.databaseName}/${branch}`).destroyBranch();
      if (!r.ok) throw new DosqlError(r.error.code, r.error.message);
      await db.dropBranch(branch);
      return null;
    });
  }

  private get databaseName(): string {
    return this.objectName.split('/')[0]!;
  }
}

function atOption(options: unknown): AsOf | undefined {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object') throw new DosqlError('MISUSE', 'branch options must be an object { at? }');
  return (options as { at?: AsOf }).at;
}
