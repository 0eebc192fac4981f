import { describe, expect, it } from 'vitest';
import { Database } from '../../index.js';

describe('triggers', () => {
  it('run before and after inserts, updates and deletes with NEW and OLD', async () => {
    const db = await Database.open();
    await db.exec('CREATE TABLE acct (id INTEGER PRIMARY KEY, balance INTEGER)');
    await db.exec('CREATE TABLE audit (n INTEGER PRIMARY KEY, what TEXT, id INTEGER, old INTEGER, new INTEGER)');
    await db.exec(`CREATE TRIGGER a_ins AFTER INSERT ON acct BEGIN INSERT INTO audit (what, id, new) VALUES ('insert', NEW.id, NEW.balance); END`);
    await db.exec(`CREATE TRIGGER a_upd AFTER UPDATE OF balance ON acct WHEN NEW.balance <> OLD.balance BEGIN
      INSERT INTO audit (what, id, old, new) VALUES ('update', NEW.id, OLD.balance, NEW.balance); END`);
    await db.exec(`CREATE TRIGGER b_del BEFORE DELETE ON acct BEGIN SELECT RAISE(ABORT, 'account not empty') WHERE OLD.balance <> 0; END`);
    await db.exec(`CREATE TRIGGER b_neg BEFORE INSERT ON acct WHEN NEW.balance < 0 BEGIN SELECT RAISE(IGNORE); END`);
    await db.exec('INSERT INTO acct VALUES (1, 100), (2, 0), (3, -5)');
    await db.exec('UPDATE acct SET balance = balance WHERE id = 1'); // WHEN false: no audit row
    await db.exec('UPDATE acct SET balance = 50 WHERE id = 1');
    await expect(db.exec('DELETE FROM acct WHERE id = 1')).rejects.toThrow(/account not empty/);
    await db.exec('DELETE FROM acct WHERE id = 2');
    expect((await db.query('SELECT id FROM acct ORDER BY id')).rows).toEqual([[1]]); // -5 ignored, 2 deleted
    expect((await db.query('SELECT what, id, old, new FROM audit ORDER BY n')).rows).toEqual([
      ['insert', 1, null, 100],
      ['insert', 2, null, 0],
      ['update', 1, 100, 50],
    ]);
    expect((await db.query("SELECT name FROM sqlite_schema WHERE type = 'trigger' ORDER BY name")).rows).toEqual([['a_ins'], ['a_upd'], ['b_del'], ['b_neg']]);
    await db.exec('DROP TRIGGER b_del');
    await db.exec('DELETE FROM acct');
    await expect(db.exec('DROP TRIGGER b_del')).rejects.toThrow(/no such trigger/);
    await db.exec('DROP TRIGGER IF EXISTS b_del; DROP TABLE acct');
    expect((await db.query("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'")).rows).toEqual([[0]]);
    await db.close();
  });

  it('survive a reopen (they are part of the logged schema)', async () => {
    const db = await Database.open();
    await db.exec("CREATE TABLE t (a); CREATE TABLE c (n); INSERT INTO c VALUES (0); CREATE TRIGGER cnt AFTER INSERT ON t BEGIN UPDATE c SET n = n + 1; END");
    await db.exec('INSERT INTO t VALUES (1), (2)');
    const copy = await Database.open({ storage: db.internals.store });
    expect((await copy.query('SELECT n FROM c')).rows).toEqual([[2]]);
    await copy.exec('INSERT INTO t VALUES (3)');
    expect((await copy.query('SELECT n FROM c')).rows).toEqual([[3]]);
    await copy.close();
    await db.close();
  });
});
