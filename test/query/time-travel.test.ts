/**
 * Time travel: a read AS OF LSN L equals a fresh replay of the log up to L, through primary-key
 * lookups, range scans and full scans, for random workloads with inserts, updates, deletes,
 * transactions that write a row more than once, and rolled-back transactions; plus the SQL
 * clauses, the API option and history queries.
 */
import { describe, expect, it, vi } from 'vitest';
import { Database, DosqlError } from '../../index.js';
import { MemoryStore } from '../../storage/memory.js';
import { rng } from '../support/random.js';

/** A database replayed from the log of `db` up to (and including) the commit at `lsn`. */
async function replayUpTo(db: Database, lsn: bigint): Promise<Database> {
  const store = new MemoryStore();
  const copy = await Database.open({ storage: store });
  const { tables } = copy.internals;
  for await (const txn of db.internals.log.read(1n, { toLsn: lsn })) await tables.apply(txn);
  return copy;
}

describe('AS OF equals replay up to that LSN', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}`, async () => {
      const r = rng(seed);
      const db = await Database.open({ checkpointChangesMin: 200 });
      await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, n INTEGER)');
      const lsns: bigint[] = [];
      for (let step = 0; step < 150; step++) {
        const id = r.int(300);
        const op = r.int(6);
        if (op <= 1) await db.exec('INSERT OR REPLACE INTO t VALUES (?, ?, ?)', [id, `v${step}`, r.int(100)]);
        else if (op === 5) {
          // One transaction writing the same rows more than once (update, update, delete, re-insert).
          await db.exec('BEGIN');
          await db.exec('UPDATE t SET v = ?, n = n + 1 WHERE id BETWEEN ? AND ?', [`w${step}`, id, id + 3]);
          await db.exec('UPDATE t SET n = n + 1 WHERE id = ?', [id]);
          if (r.int(2) === 0) await db.exec('DELETE FROM t WHERE id = ?', [id + 1]);
          if (r.int(2) === 0) await db.exec('INSERT OR REPLACE INTO t VALUES (?, ?, ?)', [id + 1, `x${step}`, 0]);
          await db.exec('COMMIT');
        }
        else if (op === 2) await db.exec('UPDATE t SET v = ?, n = n + 1 WHERE id BETWEEN ? AND ?', [`u${step}`, id, id + 15]);
        else if (op === 3) await db.exec('DELETE FROM t WHERE id >= ? AND id < ?', [id, id + 10]);
        else await db.exec(`BEGIN; DELETE FROM t; INSERT INTO t VALUES (${1000 + step}, 'gone', 0); ROLLBACK`);
        lsns.push(db.lsn);
      }
      for (let probe = 0; probe < 12; probe++) {
        const lsn = lsns[r.int(lsns.length)]!;
        const past = await replayUpTo(db, lsn);
        const queries: Array<[string, unknown[]]> = [
          ['SELECT * FROM t ORDER BY id', []],
          ['SELECT id, v FROM t WHERE id = ?', [r.int(300)]],
          ['SELECT id, n FROM t WHERE id > ? AND id <= ?', [r.int(150), 150 + r.int(150)]],
          ['SELECT count(*), sum(n) FROM t', []],
        ];
        for (const [sql, params] of queries) {
          const expected = (await past.query(sql, params)).rows;
          const viaOption = await db.query(sql, params, { asOf: { lsn } });
          expect(viaOption.rows, `${sql} at ${lsn}`).toEqual(expected);
          expect(viaOption.lsn).toBe(lsn);
          const viaSql = sql.replace('FROM t', `FROM t FOR SYSTEM_TIME AS OF LSN ${lsn}`);
          expect((await db.query(viaSql, params)).rows, viaSql).toEqual(expected);
        }
        await past.close();
      }
      await db.close();
    });
  }
});

describe('AS OF of tables changed and unchanged since, before and after reopening', () => {
  // A table no row of which changed after the LSN reads as it is now (TableStore.getAsOf); after
  // reopening, that is known only from the checkpoint on, and replay of the log tail moves it.
  it('equals a replay up to the LSN for every key and the whole table', async () => {
    const store = new MemoryStore();
    let db = await Database.open({ storage: store, checkpointChangesMin: 50 });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)');
    await db.exec('CREATE TABLE u (id INTEGER PRIMARY KEY, v INTEGER)');
    const r = rng(9);
    const lsns: bigint[] = [];
    for (let step = 0; step < 120; step++) {
      // u stops changing halfway.
      const table = step < 60 && r.int(2) === 0 ? 'u' : 't';
      const id = r.int(40);
      if (r.int(3) === 0) await db.exec(`DELETE FROM ${table} WHERE id = ?`, [id]);
      else await db.exec(`INSERT OR REPLACE INTO ${table} VALUES (?, ?)`, [id, step]);
      lsns.push(db.lsn);
    }
    const agree = async (db: Database): Promise<void> => {
      for (const lsn of [lsns[10]!, lsns[59]!, lsns[60]!, lsns[90]!, lsns[119]!]) {
        const past = await replayUpTo(db, lsn);
        for (const table of ['t', 'u']) {
          const all = `SELECT * FROM ${table} ORDER BY id`;
          expect((await db.query(all, [], { asOf: { lsn } })).rows, `${all} at ${lsn}`).toEqual((await past.query(all)).rows);
          const one = `SELECT v FROM ${table} WHERE id = ?`;
          for (let id = 0; id < 40; id++) {
            expect((await db.query(one, [id], { asOf: { lsn } })).rows, `${table} ${id} at ${lsn}`).toEqual((await past.query(one, [id])).rows);
          }
        }
        await past.close();
      }
    };
    await agree(db);
    await db.close();
    db = await Database.open({ storage: store, checkpointChangesMin: 50 });
    await agree(db);
    await db.close();
  });
});

describe('AS OF joins without an index on the join column', () => {
  it('equal a replay, and read the inner table once per statement (a hash table, not a scan per row)', async () => {
    const db = await Database.open();
    await db.exec('CREATE TABLE a (id INTEGER PRIMARY KEY, k INTEGER)');
    await db.exec('CREATE TABLE b (id INTEGER PRIMARY KEY, k INTEGER, w TEXT)');
    const r = rng(12);
    await db.exec('BEGIN');
    for (let id = 1; id <= 200; id++) {
      await db.exec('INSERT INTO a VALUES (?, ?)', [id, r.int(50)]);
      await db.exec('INSERT INTO b VALUES (?, ?, ?)', [id, r.int(50), `w${id}`]);
    }
    await db.exec('COMMIT');
    const lsn = db.lsn;
    await db.exec('UPDATE b SET k = k + 1, w = w || ? WHERE id % 3 = 0', ['!']);
    await db.exec('DELETE FROM b WHERE id % 7 = 0');
    await db.exec('INSERT INTO b VALUES (1000, 7, ?)', ['new']);
    const sql = 'SELECT a.id, b.id, b.w FROM a JOIN b ON b.k = a.k ORDER BY a.id, b.id';
    const plan = await db.query(`EXPLAIN QUERY PLAN ${sql}`);
    expect(plan.rows.some((row) => String(row[3]).includes('USING AUTOMATIC HASH INDEX (k=?)'))).toBe(true);
    const past = await replayUpTo(db, lsn);
    const { tables } = db.internals;
    const scans = vi.spyOn(tables, 'scanAsOfChunks');
    const got = (await db.query(sql, [], { asOf: { lsn } })).rows;
    // One scan of each table at that LSN; a scan of the inner table per outer row would be 200 more.
    expect(scans.mock.calls.length).toBe(2);
    scans.mockRestore();
    expect(got.length).toBeGreaterThan(200);
    expect(got).toEqual((await past.query(sql)).rows);
    // The same join now, and at two points in one statement, still agree with their replays.
    const now = await replayUpTo(db, db.lsn);
    expect((await db.query(sql)).rows).toEqual((await now.query(sql)).rows);
    const both = `SELECT count(*) FROM a FOR SYSTEM_TIME AS OF LSN ${lsn} JOIN b FOR SYSTEM_TIME AS OF LSN ${db.lsn} ON b.k = a.k`;
    const mixed = (await now.query('SELECT k FROM b')).rows.map((row) => row[0]);
    const pastA = (await past.query('SELECT k FROM a')).rows.map((row) => row[0]);
    const expected = pastA.reduce((n: number, k) => n + mixed.filter((m) => m === k).length, 0);
    expect((await db.query(both)).rows).toEqual([[expected]]);
    await Promise.all([past.close(), now.close()]);
    await db.close();
  });
});

describe('AS OF through secondary indexes', () => {
  it('equals a replay up to the LSN, for index equality and ranges', async () => {
    const r = rng(5);
    const db = await Database.open({ checkpointChangesMin: 150 });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, g INTEGER, v TEXT)');
    await db.exec('CREATE INDEX t_g ON t (g)');
    const lsns: bigint[] = [];
    for (let step = 0; step < 120; step++) {
      const id = r.int(60);
      const op = r.int(4);
      if (op <= 1) await db.exec('INSERT OR REPLACE INTO t VALUES (?, ?, ?)', [id, r.int(8), `s${step}`]);
      else if (op === 2) await db.exec('UPDATE t SET g = ? WHERE id BETWEEN ? AND ?', [r.int(8), id, id + 5]);
      else await db.exec('DELETE FROM t WHERE id = ?', [id]);
      lsns.push(db.lsn);
    }
    for (let probe = 0; probe < 10; probe++) {
      const lsn = lsns[r.int(lsns.length)]!;
      const past = await replayUpTo(db, lsn);
      for (const sql of ['SELECT id, v FROM t WHERE g = 3 ORDER BY id', 'SELECT count(*) FROM t WHERE g > 5', 'SELECT id FROM t WHERE g BETWEEN 2 AND 4 ORDER BY id']) {
        expect((await db.query(sql, [], { asOf: { lsn } })).rows, `${sql} at ${lsn}`).toEqual((await past.query(sql)).rows);
      }
      await past.close();
    }
    const plan = await db.query('EXPLAIN QUERY PLAN SELECT * FROM t FOR SYSTEM_TIME AS OF LSN 5 WHERE g = 3');
    expect(plan.rows.map((row) => row[3])).toEqual(['SEARCH t USING INDEX t_g (g=?)']);
    await db.close();
  });
});

describe('rows with many versions', () => {
  it('read each version back through lookups and scans', async () => {
    const db = await Database.open({ checkpointChangesMin: 100 });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)');
    await db.exec('INSERT INTO t VALUES (1, 0), (2, 0), (3, 0)');
    const at: bigint[] = [db.lsn];
    for (let i = 1; i <= 40; i++) {
      await db.exec('UPDATE t SET v = ? WHERE id <= ?', [i, 1 + (i % 3)]);
      if (i % 13 === 0) await db.exec('DELETE FROM t WHERE id = 2');
      if (i % 13 === 1 && i > 1) await db.exec('INSERT INTO t VALUES (2, ?)', [i]);
      at.push(db.lsn);
    }
    for (const lsn of at) {
      const past = await replayUpTo(db, lsn);
      for (const sql of ['SELECT * FROM t ORDER BY id', 'SELECT v FROM t WHERE id = 2', 'SELECT * FROM t WHERE id >= 2']) {
        expect((await db.query(sql, [], { asOf: { lsn } })).rows, `${sql} at ${lsn}`).toEqual((await past.query(sql)).rows);
      }
      await past.close();
    }
    await db.close();
  });
});

describe('time travel in SQL and the API', () => {
  it('joins two points in time and resolves timestamps', async () => {
    let now = Date.parse('2026-11-24T10:00:00Z');
    const db = await Database.open({ clock: () => now });
    await db.exec("CREATE TABLE acct (id INTEGER PRIMARY KEY, balance INTEGER)");
    await db.exec('INSERT INTO acct VALUES (1, 100), (2, 50)');
    const before = db.lsn;
    now += 60_000;
    await db.exec('UPDATE acct SET balance = balance - 30 WHERE id = 1');
    await db.exec('DELETE FROM acct WHERE id = 2');
    const rows = await db.query(
      `SELECT old.id, old.balance, cur.balance FROM acct FOR SYSTEM_TIME AS OF LSN ${before} AS old LEFT JOIN acct AS cur ON cur.id = old.id ORDER BY old.id`,
    );
    expect(rows.rows).toEqual([[1, 100, 70], [2, 50, null]]);
    const atTime = await db.query("SELECT sum(balance) FROM acct FOR SYSTEM_TIME AS OF TIMESTAMP '2026-11-24T10:00:30Z'");
    expect(atTime.rows).toEqual([[150]]);
    expect((await db.query('SELECT sum(balance) FROM acct', [], { asOf: { timestamp: new Date('2026-11-24T10:00:30Z') } })).rows).toEqual([[150]]);
    expect((await db.query('SELECT count(*) FROM acct', [], { asOf: { timestamp: Date.parse('2026-11-24T09:00:00Z') } })).rows).toEqual([[0]]);
    await db.close();
  });

  it('returns every version with its period for BETWEEN and ALL', async () => {
    let now = Date.parse('2026-11-24T10:00:00Z');
    const db = await Database.open({ clock: () => now });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const { lsn: l1 } = await db.exec("INSERT INTO t VALUES (1, 'a')");
    now += 1000;
    const { lsn: l2 } = await db.exec("UPDATE t SET v = 'b' WHERE id = 1");
    now += 1000;
    const { lsn: l3 } = await db.exec('DELETE FROM t WHERE id = 1');
    const all = await db.query('SELECT id, v, _valid_from_lsn, _valid_to_lsn, _valid_from, _valid_to FROM t FOR SYSTEM_TIME ALL');
    expect(all.rows).toEqual([
      [1, 'a', Number(l1), Number(l2), '2026-11-24T10:00:00.000Z', '2026-11-24T10:00:01.000Z'],
      [1, 'b', Number(l2), Number(l3), '2026-11-24T10:00:01.000Z', '2026-11-24T10:00:02.000Z'],
    ]);
    const between = await db.query(`SELECT v FROM t FOR SYSTEM_TIME BETWEEN ${l2} AND ${l3}`);
    expect(between.rows).toEqual([['b']]);
    await db.close();
  });

  it('refuses LSNs after the last commit and writes with asOf', async () => {
    const db = await Database.open();
    await db.exec('CREATE TABLE t (a)');
    const err = await db.query('SELECT * FROM t', [], { asOf: { lsn: 999n } }).catch((e) => e);
    expect(err).toBeInstanceOf(DosqlError);
    expect(err.code).toBe('RANGE');
    await expect(db.query('INSERT INTO t VALUES (1)', [], { asOf: { lsn: 1n } })).rejects.toMatchObject({ code: 'MISUSE' });
    await expect(db.query('SELECT * FROM t FOR SYSTEM_TIME AS OF LSN -1')).rejects.toMatchObject({ code: 'MISMATCH' });
    await db.close();
  });
});

// A row written several times in one transaction has, between the transaction's neighbours, only
// its last version: the intermediate ones were never visible and must not displace the version
// the transaction replaced.
describe('rows written more than once in one transaction', () => {
  for (const indexed of [false, true]) {
    it(`keep the version before the transaction readable${indexed ? ' (with an index)' : ''}`, async () => {
      const db = await Database.open();
      await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
      if (indexed) await db.exec('CREATE INDEX t_v ON t (v)');
      await db.exec("INSERT INTO t VALUES (1, 'a0'), (2, 'b0'), (3, 'c0')");
      const before = db.lsn;
      await db.exec(`BEGIN;
        UPDATE t SET v = 'a1' WHERE id = 1; UPDATE t SET v = 'a2' WHERE id = 1;
        UPDATE t SET v = 'b1' WHERE id = 2; DELETE FROM t WHERE id = 2;
        INSERT INTO t VALUES (4, 'd1'); UPDATE t SET v = 'd2' WHERE id = 4; DELETE FROM t WHERE id = 4;
        UPDATE t SET id = 5 WHERE id = 3; UPDATE t SET v = 'c2' WHERE id = 5;
        COMMIT`);
      const past = { asOf: { lsn: before } };
      expect((await db.query('SELECT * FROM t ORDER BY id', [], past)).rows).toEqual([[1, 'a0'], [2, 'b0'], [3, 'c0']]);
      expect((await db.query('SELECT * FROM t ORDER BY id')).rows).toEqual([[1, 'a2'], [5, 'c2']]);
      for (const [v, id] of [['a0', 1], ['b0', 2], ['c0', 3], ['a1', undefined], ['b1', undefined], ['d1', undefined], ['d2', undefined]] as const) {
        expect((await db.get('SELECT id FROM t WHERE v = ?', [v], past))?.id, v).toBe(id);
      }
      const all = (await db.query('SELECT id, v FROM t FOR SYSTEM_TIME ALL ORDER BY id, _valid_from_lsn')).rows;
      expect(all).toEqual([[1, 'a0'], [1, 'a2'], [2, 'b0'], [3, 'c0'], [5, 'c2']]);
      await db.close();
    });
  }
});

describe('retention window', () => {
  it('refuses reads before the window, naming the oldest readable LSN and time', async () => {
    let now = Date.parse('2026-11-24T10:00:00Z');
    const db = await Database.open({ clock: () => now, retention: { lsns: 6, ageMs: 3_600_000 } });
    await db.exec('CREATE TABLE t (a)');
    const early = db.lsn;
    for (let i = 0; i < 5; i++) await db.exec('INSERT INTO t VALUES (?)', [i]);
    const err = await db.query('SELECT count(*) FROM t', [], { asOf: { lsn: early } }).catch((e) => e);
    expect(err).toBeInstanceOf(DosqlError);
    expect(err.code).toBe('RANGE');
    expect(err.message).toMatch(new RegExp(`oldest readable state is LSN ${db.lsn - 6n}`));
    expect((await db.query('SELECT count(*) FROM t', [], { asOf: { lsn: db.lsn - 2n } })).rows).toEqual([[4]]);
    // Two hours later only the age bound matters: the last commit before now - 1h stays readable.
    now += 2 * 3_600_000;
    await db.exec('INSERT INTO t VALUES (99)');
    const lastOld = db.lsn - 2n;
    const aged = await db.query(`SELECT count(*) FROM t FOR SYSTEM_TIME AS OF LSN ${lastOld - 2n}`).catch((e) => e);
    expect(aged.code).toBe('RANGE');
    expect(aged.message).toMatch(/2026-11-24T11:00:00.000Z/);
    expect((await db.query(`SELECT count(*) FROM t FOR SYSTEM_TIME AS OF LSN ${lastOld}`)).rows).toEqual([[5]]);
    await db.close();
  });
});

describe('time travel across ALTER TABLE', () => {
  it('reads past rows in the layout of their time, shown in the current columns', async () => {
    const db = await Database.open();
    await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER); INSERT INTO t VALUES (1, 'x', 10), (2, 'y', 20)");
    const before = db.lsn;
    await db.exec('ALTER TABLE t ADD COLUMN c INTEGER DEFAULT 7');
    await db.exec('UPDATE t SET c = 8 WHERE id = 2');
    const added = db.lsn;
    await db.exec('ALTER TABLE t DROP COLUMN a');
    expect((await db.query('SELECT * FROM t ORDER BY id', [], { asOf: { lsn: before } })).rows).toEqual([[1, 10, null], [2, 20, null]]);
    expect((await db.query('SELECT * FROM t ORDER BY id', [], { asOf: { lsn: added } })).rows).toEqual([[1, 10, 7], [2, 20, 8]]);
    expect((await db.query('SELECT * FROM t ORDER BY id')).rows).toEqual([[1, 10, 7], [2, 20, 8]]);
    const all = await db.query('SELECT id, b, c, _valid_from_lsn FROM t FOR SYSTEM_TIME ALL WHERE id = 2 ORDER BY _valid_from_lsn');
    expect(all.rows.map((r) => [r[1], r[2]])).toEqual([[20, null], [20, 7], [20, 8], [20, 8]]);
    await db.close();
  });
});
