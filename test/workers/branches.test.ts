/**
 * Remote branches in workerd, through the real Worker: each branch is its own Durable Object
 * (`/db/<name>/branch/<branch>`), reading its parent's shared history by RPC between objects
 * (server/branches.ts, storage/remote-parent.ts). A branch sees the parent at the fork and then
 * diverges both ways; both survive a real restart of every object; a branch of a branch works;
 * dropping a branch leaves its parent working; tokens scoped to a database cover its branches.
 */
import { abortAllDurableObjects } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { newWebSocketRpcSession, type RpcStub } from 'capnweb';
import type { BranchesRpc, DatabaseRpc, WireResult } from '../../base/api.js';
import { freshName, sql, workerFetch, FULL, PREFIX, READ_ONLY } from './helpers.js';

type Api = RpcStub<DatabaseRpc & BranchesRpc>;

async function openSocket(path: string, token = FULL): Promise<{ api: Api; ws: WebSocket }> {
  const res = await workerFetch(`/db/${path}`, { headers: { upgrade: 'websocket', authorization: `Bearer ${token}` } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  return { api: newWebSocketRpcSession<DatabaseRpc & BranchesRpc>(ws as unknown as WebSocket), ws };
}

function value<T>(r: WireResult<T>): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

async function rows(path: string, q: string): Promise<unknown> {
  const r = await sql(path, q);
  expect(r.status).toBe(200);
  return r.body.rows;
}

describe('remote branches', () => {
  it('fork, diverge both ways, restart, branch of a branch, drop', async () => {
    const name = freshName();
    const root = await openSocket(name);
    value(await root.api.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)'));
    value(await root.api.exec("INSERT INTO t VALUES (1, 'one'), (2, 'two')"));
    const early = value(await root.api.query('SELECT 1')).lsn;
    value(await root.api.exec("INSERT INTO t VALUES (3, 'three')"));

    const b1 = value(await root.api.branch('b1'));
    expect(b1).toMatchObject({ name: 'b1' });
    expect(typeof b1.forkLsn).toBe('bigint');
    const old = value(await root.api.branch('old', { at: { lsn: early } }));
    expect(old.forkLsn).toBe(early);
    expect(await root.api.branch('b1')).toMatchObject({ ok: false, error: { code: 'ERROR' } });
    expect(await root.api.branch('bad/name')).toMatchObject({ ok: false, error: { code: 'MISUSE' } });
    expect(value(await root.api.branches()).map((b) => b.name).sort()).toEqual(['b1', 'old']);

    // The branch sees the parent at the fork; then each side's writes stay its own.
    expect(await rows(`${name}/branch/b1`, 'SELECT id, v FROM t ORDER BY id')).toEqual([[1, 'one'], [2, 'two'], [3, 'three']]);
    expect(await rows(`${name}/branch/old`, 'SELECT count(*) FROM t')).toEqual([[2]]);
    const br = await openSocket(`${name}/branch/b1`);
    value(await br.api.exec("INSERT INTO t VALUES (10, 'branch'); UPDATE t SET v = 'ONE' WHERE id = 1"));
    value(await root.api.exec("INSERT INTO t VALUES (20, 'parent'); DELETE FROM t WHERE id = 2"));
    value(await (await openSocket(`${name}/branch/old`)).api.exec("INSERT INTO t VALUES (30, 'old')"));
    const expectState = async (): Promise<void> => {
      expect(await rows(name, 'SELECT id, v FROM t ORDER BY id')).toEqual([[1, 'one'], [3, 'three'], [20, 'parent']]);
      expect(await rows(`${name}/branch/b1`, 'SELECT id, v FROM t ORDER BY id')).toEqual([[1, 'ONE'], [2, 'two'], [3, 'three'], [10, 'branch']]);
      expect(await rows(`${name}/branch/old`, 'SELECT id FROM t ORDER BY id')).toEqual([[1], [2], [30]]);
    };
    await expectState();
    root.ws.close();
    br.ws.close();

    // A real restart of every object: all three reopen from their storage (the branches through
    // their parent), and more writes after it still stay apart.
    await abortAllDurableObjects();
    await expectState();
    expect((await sql(`${name}/branch/b1`, "INSERT INTO t VALUES (11, 'after')")).status).toBe(200);
    await abortAllDurableObjects();
    expect(await rows(`${name}/branch/b1`, 'SELECT count(*) FROM t')).toEqual([[5]]);
    expect(await rows(name, 'SELECT count(*) FROM t')).toEqual([[3]]);

    // A branch of a branch, reached by its own name under the database.
    const b1api = await openSocket(`${name}/branch/b1`);
    value(await b1api.api.branch('b2'));
    expect(await root.api.branch('b2').catch(() => undefined)).toBeUndefined(); // old socket is gone
    const again = await openSocket(name);
    expect(await again.api.branch('b2')).toMatchObject({ ok: false, error: { code: 'ERROR' } }); // names are unique at any depth
    value(await (await openSocket(`${name}/branch/b2`)).api.exec('DELETE FROM t WHERE id = 10'));
    expect(await rows(`${name}/branch/b2`, 'SELECT id FROM t ORDER BY id')).toEqual([[1], [2], [3], [11]]);
    expect(await rows(`${name}/branch/b1`, 'SELECT count(*) FROM t')).toEqual([[5]]);
    await abortAllDurableObjects();
    expect(await rows(`${name}/branch/b2`, 'SELECT count(*) FROM t')).toEqual([[4]]);

    // Dropping: refused while b1 has a branch; then b2, then b1, while the parent keeps working.
    const p = await openSocket(name);
    expect(await p.api.dropBranch('b1')).toMatchObject({ ok: false, error: { code: 'ERROR' } });
    value(await (await openSocket(`${name}/branch/b1`)).api.dropBranch('b2'));
    expect((await sql(`${name}/branch/b2`, 'SELECT 1')).status).toBe(404);
    value(await p.api.dropBranch('b1'));
    expect((await sql(`${name}/branch/b1`, 'SELECT 1')).status).toBe(404);
    expect(value(await p.api.branches()).map((b) => b.name)).toEqual(['old']);
    value(await p.api.exec("INSERT INTO t VALUES (40, 'still')"));
    expect(await rows(name, 'SELECT count(*) FROM t')).toEqual([[4]]);
    expect(await rows(`${name}/branch/old`, 'SELECT count(*) FROM t')).toEqual([[3]]);
    await abortAllDurableObjects();
    expect(await rows(name, 'SELECT count(*) FROM t')).toEqual([[4]]);
    expect(await rows(`${name}/branch/old`, 'SELECT count(*) FROM t')).toEqual([[3]]);
  });

  it('covers branches with the database token scope; read-only tokens cannot branch', async () => {
    const name = `app-${freshName()}`;
    const root = await openSocket(name, PREFIX);
    value(await root.api.exec('CREATE TABLE t (a); INSERT INTO t VALUES (1)'));
    value(await root.api.branch('dev'));
    expect(await rows(`${name}/branch/dev`, 'SELECT a FROM t')).toEqual([[1]]);
    const scoped = await sql(`${name}/branch/dev`, 'SELECT a FROM t', undefined, PREFIX);
    expect(scoped.status).toBe(200);
    const other = freshName();
    expect((await sql(`${other}/branch/dev`, 'SELECT 1', undefined, PREFIX)).status).toBe(403);
    expect((await sql(`${name}/branch/nope`, 'SELECT 1')).status).toBe(404);
    expect((await sql(`${name}/branch/b%2Fc`, 'SELECT 1')).status).toBe(400);

    const ro = await openSocket(name, READ_ONLY);
    expect(await ro.api.branch('x')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await ro.api.dropBranch('dev')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(value(await ro.api.branches()).map((b) => b.name)).toEqual(['dev']);
    const roBranch = await openSocket(`${name}/branch/dev`, READ_ONLY);
    expect(await roBranch.api.exec('INSERT INTO t VALUES (2)')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    root.ws.close();
    ro.ws.close();
    roBranch.ws.close();
  });
});
