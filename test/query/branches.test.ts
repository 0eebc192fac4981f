import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Database } from '../../index.js';
import type { ForkStore } from '../../storage/fork.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function values(db: Database): Promise<unknown[]> {
  return (await db.query('SELECT v FROM t ORDER BY id')).rows.map((r) => r[0]);
}

describe('branches', () => {
  it('share history up to the fork and then diverge both ways', async () => {
    const db = await Database.open({ checkpointChangesMin: 5 });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    for (let i = 1; i <= 20; i++) await db.exec('INSERT INTO t VALUES (?, ?)', [i, `p${i}`]);
    const b = await db.branch('feature');
    // Nothing is copied but the fork record, the checkpoint record and at most one log segment.
    const own = (b.internals.store as ForkStore).own;
    expect((await own.list({})).length).toBeLessThanOrEqual(4);
    expect(own.stats.bytesWritten).toBeLessThan(db.internals.store.stats.bytesWritten / 4);
    await db.exec("UPDATE t SET v = 'parent' WHERE id <= 10");
    await db.exec('DELETE FROM t WHERE id > 15');
    await b.exec("UPDATE t SET v = 'branch' WHERE id > 10");
    await b.exec("INSERT INTO t VALUES (100, 'only in branch')");
    expect((await values(db)).slice(0, 2)).toEqual(['parent', 'parent']);
    expect(await values(db)).toHaveLength(15);
    expect((await values(b)).slice(0, 2)).toEqual(['p1', 'p2']);
    expect(await values(b)).toHaveLength(21);
    expect((await b.query("SELECT count(*) FROM t WHERE v = 'branch'")).rows).toEqual([[10]]);
    const list = await db.branches();
    expect(list.map((x) => x.name)).toEqual(['feature']);
    expect(list[0]!.forkLsn).toBeGreaterThan(0n);
    // A branch of the branch, then dropping the first branch's child while both keep working.
    const c = await b.branch('sub');
    await c.exec('DELETE FROM t');
    expect(await values(c)).toEqual([]);
    expect(await values(b)).toHaveLength(21);
    await c.close();
    await b.dropBranch('sub');
    expect(await b.branches()).toEqual([]);
    await b.exec("INSERT INTO t VALUES (101, 'still works')");
    await b.close();
    await db.dropBranch('feature');
    await db.exec("INSERT INTO t VALUES (200, 'parent goes on')");
    expect(await values(db)).toHaveLength(16);
    await db.close();
  });

  it('fork at a past LSN or timestamp, durable, reopened by path after the parent moved on', async () => {
    const path = mkdtempSync(join(tmpdir(), 'dosql-branch-'));
    dirs.push(path);
    let now = Date.parse('2026-11-24T10:00:00Z');
    const db = await Database.open({ path, checkpointChangesMin: 10, clock: () => now });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    for (let i = 1; i <= 30; i++) await db.exec('INSERT INTO t VALUES (?, ?)', [i, `v${i}`]);
    const mid = db.lsn;
    now += 60_000;
    await db.exec("UPDATE t SET v = 'later'");
    const old = await db.branch('old', { at: { lsn: mid } });
    expect(await values(old)).toContain('v7');
    await old.exec("INSERT INTO t VALUES (31, 'branch row')");
    await old.close();
    const byTime = await db.branch('by-time', { at: { timestamp: '2026-11-24T10:00:30Z' } });
    expect((await byTime.query('SELECT count(*) FROM t WHERE v = ?', ['later'])).rows).toEqual([[0]]);
    await byTime.close();
    // The parent keeps writing and checkpointing: pages the branches use must survive.
    for (let i = 0; i < 50; i++) await db.exec('UPDATE t SET v = ? WHERE id = ?', [`x${i}`, 1 + (i % 30)]);
    await db.close();

    const reopened = await Database.open({ path, branch: 'old' });
    expect(await values(reopened)).toHaveLength(31);
    expect((await reopened.get('SELECT v FROM t WHERE id = 31'))!.v).toBe('branch row');
    await reopened.close();
    const parent = await Database.open({ path });
    expect((await parent.query("SELECT count(*) FROM t WHERE v = 'branch row'")).rows).toEqual([[0]]);
    expect((await parent.branches()).map((b) => b.name).sort()).toEqual(['by-time', 'old']);
    await parent.dropBranch('old');
    await parent.close();
    await expect(Database.open({ path, branch: 'old' })).rejects.toThrow(/no such branch/);
  });
});
