/**
 * Data survives a restart of the Durable Object. The restart is real: `abortAllDurableObjects()`
 * (cloudflare:test) throws away every live object instance (its memory: the open Database, its
 * caches, its WebSockets) while keeping the persisted storage, exactly like an eviction or a crash
 * of the host process; the next request constructs a new instance that reopens the database from
 * its storage (the engine's recovery: checkpoint plus log replay). A marker set on the old
 * instance proves that the instance after the restart is a new one.
 */
import { abortAllDurableObjects, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { freshName, sql, testEnv } from './helpers.js';

async function markInstance(name: string): Promise<boolean> {
  const env = testEnv();
  const stub = env.DATABASE.get(env.DATABASE.idFromName(name));
  return runInDurableObject(stub, (instance) => {
    const o = instance as unknown as { restartMarker?: boolean };
    const had = o.restartMarker === true;
    o.restartMarker = true;
    return had;
  });
}

describe('restart of the Durable Object', () => {
  it('keeps every acknowledged write across restarts, and recovers an open transaction as absent', async () => {
    const name = freshName();
    await sql(name, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)');
    for (let i = 0; i < 5; i++) {
      const r = await sql(name, 'INSERT INTO t (v, b) VALUES (?, ?)', [`row ${i}`, { $blob: btoa(String.fromCharCode(i, 255)) }]);
      expect(r.status).toBe(200);
    }
    const before = await sql(name, 'SELECT id, v, b FROM t ORDER BY id');
    expect(await markInstance(name)).toBe(false);
    expect(await markInstance(name)).toBe(true);

    await abortAllDurableObjects();
    expect(await markInstance(name)).toBe(false); // a new instance
    const after = await sql(name, 'SELECT id, v, b FROM t ORDER BY id');
    expect(after.body).toEqual(before.body);

    // Write more after the restart, restart again, and the whole history is there.
    await sql(name, "UPDATE t SET v = 'changed' WHERE id = 3");
    await sql(name, 'DELETE FROM t WHERE id = 5');
    await abortAllDurableObjects();
    const again = await sql(name, 'SELECT id, v FROM t ORDER BY id');
    expect(again.body.rows).toEqual([
      [1, 'row 0'],
      [2, 'row 1'],
      [3, 'changed'],
      [4, 'row 3'],
    ]);
    expect(BigInt(again.body.lsn)).toBeGreaterThan(BigInt(after.body.lsn));
    const schema = await sql(name, 'SELECT count(*) FROM t');
    expect(schema.body.rows).toEqual([[4]]);
  });

  it('keeps a database durable across restarts with many commits (replay of a long log)', async () => {
    const name = freshName();
    await sql(name, 'CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)');
    for (let batch = 0; batch < 10; batch++) {
      const values = Array.from({ length: 50 }, (_, i) => `(${batch * 50 + i}, 'v${batch}-${i}')`).join(',');
      expect((await sql(name, `INSERT INTO kv VALUES ${values}`)).status).toBe(200);
      if (batch % 3 === 2) await abortAllDurableObjects();
    }
    await abortAllDurableObjects();
    const r = await sql(name, 'SELECT count(*), min(k), max(k) FROM kv');
    expect(r.body.rows).toEqual([[500, 0, 499]]);
  });
});
