/** Golden tests of statement parsing: one or more cases for every statement kind of query/ast.ts. */
import { describe, expect, it } from 'vitest';
import { parse, parseOne } from '../../query/parser.js';
import type { Statement } from '../../query/ast.js';
import { show } from './print.js';

/** The statement without `pos` and `end` offsets, for exact comparisons. */
function tree(sql: string): unknown {
  return strip(parseOne(sql).statement);
}

function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === 'object' && !(v instanceof Uint8Array) && v.constructor === Object) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'pos' && k !== 'end') out[k] = strip(x);
    return out;
  }
  return v;
}

function stmt(sql: string): Statement {
  return parseOne(sql).statement;
}

const col = (name: string, table?: string) => (table ? { kind: 'column', table, name } : { kind: 'column', name });
const lit = (value: unknown) => ({ kind: 'literal', value });

describe('SELECT', () => {
  it('parses a full select exactly', () => {
    expect(tree('SELECT DISTINCT a, b AS x, c y, t.*, * FROM t WHERE a > 1 GROUP BY a HAVING count(*) > 1 ORDER BY a DESC, b NULLS FIRST LIMIT 10 OFFSET 5')).toEqual({
      type: 'select',
      first: {
        kind: 'select',
        distinct: true,
        columns: [
          { kind: 'expr', expr: col('a') },
          { kind: 'expr', expr: col('b'), alias: 'x' },
          { kind: 'expr', expr: col('c'), alias: 'y' },
          { kind: 'table_star', table: 't' },
          { kind: 'star' },
        ],
        from: { kind: 'table', name: 't' },
        where: { kind: 'binary', op: '>', left: col('a'), right: lit(1) },
        groupBy: [col('a')],
        having: {
          kind: 'binary',
          op: '>',
          left: { kind: 'function', name: 'count', args: [], star: true, distinct: false },
          right: lit(1),
        },
      },
      compounds: [],
      orderBy: [
        { expr: col('a'), direction: 'DESC' },
        { expr: col('b'), direction: 'ASC', nulls: 'FIRST' },
      ],
      limit: lit(10),
      offset: lit(5),
    });
  });

  it('LIMIT a, b means OFFSET a', () => {
    expect(stmt('SELECT 1 LIMIT 5, 10')).toMatchObject({ limit: lit(10), offset: lit(5) });
    expect(stmt('SELECT 1 LIMIT 5')).toMatchObject({ limit: lit(5) });
  });

  it('parses joins of every kind', () => {
    const s = stmt(
      'SELECT * FROM a, b JOIN c ON b.x = c.x LEFT OUTER JOIN d USING (x, y) NATURAL JOIN e CROSS JOIN f RIGHT JOIN g ON 1 FULL JOIN h INNER JOIN i',
    );
    const kinds: string[] = [];
    let f = s.type === 'select' && s.first.kind === 'select' ? s.first.from : undefined;
    while (f && f.kind === 'join') {
      kinds.unshift(`${f.natural ? 'NATURAL ' : ''}${f.join}${f.on ? ' ON' : ''}${f.using ? ` USING ${f.using.join(',')}` : ''}`);
      f = f.left;
    }
    expect(f).toMatchObject({ kind: 'table', name: 'a' });
    expect(kinds).toEqual(['CROSS', 'INNER ON', 'LEFT USING x,y', 'NATURAL INNER', 'CROSS', 'RIGHT ON', 'FULL', 'INNER']);
  });

  it('parses table aliases, subqueries, table functions and index hints', () => {
    expect(stmt('SELECT * FROM main.t AS x INDEXED BY i, u y NOT INDEXED, (SELECT 1) AS s, json_each(?) j')).toMatchObject({
      first: {
        from: {
          kind: 'join',
          left: {
            kind: 'join',
            left: {
              kind: 'join',
              left: { kind: 'table', schema: 'main', name: 't', alias: 'x', indexedBy: 'i' },
              right: { kind: 'table', name: 'u', alias: 'y', indexedBy: null },
            },
            right: { kind: 'subquery', alias: 's', select: { type: 'select' } },
          },
          right: { kind: 'function', name: 'json_each', alias: 'j', args: [{ kind: 'param' }] },
        },
      },
    });
    expect(stmt('SELECT * FROM (a JOIN b ON 1)')).toMatchObject({ first: { from: { kind: 'join', join: 'INNER' } } });
  });

  it('parses FOR SYSTEM_TIME clauses', () => {
    expect(stmt('SELECT * FROM t FOR SYSTEM_TIME AS OF LSN 42 AS old')).toMatchObject({
      first: { from: { kind: 'table', name: 't', alias: 'old', systemTime: { kind: 'as_of_lsn', lsn: lit(42) } } },
    });
    expect(stmt("SELECT * FROM t FOR SYSTEM_TIME AS OF TIMESTAMP '2024-01-01' x")).toMatchObject({
      first: { from: { alias: 'x', systemTime: { kind: 'as_of_timestamp', timestamp: lit('2024-01-01') } } },
    });
    expect(stmt('SELECT * FROM t FOR SYSTEM_TIME BETWEEN 1 AND 2 + 3')).toMatchObject({
      first: { from: { systemTime: { kind: 'between', from: lit(1), to: { kind: 'binary', op: '+' } } } },
    });
    expect(stmt('SELECT * FROM t FOR SYSTEM_TIME ALL WHERE 1')).toMatchObject({
      first: { from: { systemTime: { kind: 'all' } }, where: lit(1) },
    });
  });

  it('parses compounds, VALUES and WITH', () => {
    expect(stmt('SELECT 1 UNION SELECT 2 UNION ALL SELECT 3 INTERSECT SELECT 4 EXCEPT VALUES (5), (6) ORDER BY 1')).toMatchObject({
      first: { kind: 'select' },
      compounds: [
        { op: 'UNION' },
        { op: 'UNION ALL' },
        { op: 'INTERSECT' },
        { op: 'EXCEPT', core: { kind: 'values', rows: [[lit(5)], [lit(6)]] } },
      ],
      orderBy: [{ expr: lit(1) }],
    });
    expect(stmt('WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5), d AS MATERIALIZED (SELECT 2) SELECT n FROM c')).toMatchObject({
      type: 'select',
      with: {
        recursive: true,
        ctes: [
          { name: 'c', columns: ['n'], select: { compounds: [{ op: 'UNION ALL' }] } },
          { name: 'd', materialized: true },
        ],
      },
    });
    expect(stmt('VALUES (1, 2)')).toMatchObject({ first: { kind: 'values', rows: [[lit(1), lit(2)]] } });
  });

  it('parses WINDOW definitions', () => {
    expect(stmt('SELECT sum(x) OVER w FROM t WINDOW w AS (ORDER BY y), v AS (w)')).toMatchObject({
      first: { windows: [{ name: 'w', spec: { orderBy: [{ expr: col('y') }] } }, { name: 'v', spec: { base: 'w' } }] },
    });
  });

  it('accepts non-reserved keywords as names and aliases', () => {
    const s = stmt('SELECT key, value, text, date, replace, first, "select" AS desc FROM "order" AS temp WHERE key = 1');
    expect(s).toMatchObject({
      first: {
        columns: [{ expr: col('key') }, { expr: col('value') }, { expr: col('text') }, { expr: col('date') }, { expr: col('replace') }, { expr: col('first') }, { expr: col('select'), alias: 'desc' }],
        from: { name: 'order', alias: 'temp' },
      },
    });
    expect(stmt('CREATE TABLE key(key INTEGER, value TEXT, left INT)')).toMatchObject({ name: 'key', columns: [{ name: 'key' }, { name: 'value' }, { name: 'left' }] });
  });
});

describe('INSERT / UPDATE / DELETE', () => {
  it('parses INSERT forms', () => {
    expect(tree('INSERT INTO t VALUES (1, 2), (3, 4)')).toEqual({
      type: 'insert',
      table: 't',
      source: { kind: 'values', rows: [[lit(1), lit(2)], [lit(3), lit(4)]] },
    });
    expect(stmt('INSERT OR IGNORE INTO main.t AS x (a, b) SELECT * FROM u')).toMatchObject({
      orConflict: 'IGNORE',
      schema: 'main',
      table: 't',
      alias: 'x',
      columns: ['a', 'b'],
      source: { kind: 'select', select: { first: { from: { name: 'u' } } } },
    });
    expect(stmt('REPLACE INTO t DEFAULT VALUES')).toMatchObject({ orConflict: 'REPLACE', source: { kind: 'default' } });
    expect(stmt('WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x')).toMatchObject({ type: 'insert', with: { ctes: [{ name: 'x' }] } });
  });

  it('parses upserts and RETURNING', () => {
    expect(
      stmt('INSERT INTO t(a, b) VALUES (1, 2) ON CONFLICT (a) WHERE a > 0 DO UPDATE SET b = excluded.b WHERE b < 9 ON CONFLICT DO NOTHING RETURNING a, b AS bb, *'),
    ).toMatchObject({
      upsert: [
        { target: [{ expr: col('a') }], targetWhere: { op: '>' }, update: { set: [{ columns: ['b'], value: col('b', 'excluded') }], where: { op: '<' } } },
        {},
      ],
      returning: [{ kind: 'expr', expr: col('a') }, { kind: 'expr', alias: 'bb' }, { kind: 'star' }],
    });
    const s = stmt('INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING');
    expect(s.type === 'insert' && s.upsert?.[0]?.update).toBeUndefined();
  });

  it('parses UPDATE', () => {
    expect(stmt('UPDATE OR ROLLBACK t AS x SET a = 1, (b, c) = (2, 3), d = (SELECT 4) FROM u WHERE x.id = u.id RETURNING a ORDER BY a LIMIT 1 OFFSET 2')).toMatchObject({
      type: 'update',
      orConflict: 'ROLLBACK',
      table: 't',
      alias: 'x',
      set: [
        { columns: ['a'], value: lit(1) },
        { columns: ['b', 'c'], value: { kind: 'subquery', select: { first: { columns: [{ expr: lit(2) }, { expr: lit(3) }] } } } },
        { columns: ['d'], value: { kind: 'subquery' } },
      ],
      from: { name: 'u' },
      where: { op: '=' },
      returning: [{ expr: col('a') }],
      orderBy: [{ expr: col('a') }],
      limit: lit(1),
      offset: lit(2),
    });
  });

  it('parses DELETE', () => {
    expect(tree('DELETE FROM t WHERE a = 1')).toEqual({ type: 'delete', table: 't', where: { kind: 'binary', op: '=', left: col('a'), right: lit(1) } });
    expect(stmt('WITH c AS (SELECT 1) DELETE FROM main.t RETURNING *')).toMatchObject({ schema: 'main', with: { ctes: [{ name: 'c' }] }, returning: [{ kind: 'star' }] });
  });
});

describe('schema statements', () => {
  it('parses CREATE TABLE with column constraints', () => {
    const s = stmt(`CREATE TEMP TABLE IF NOT EXISTS t (
      id INTEGER CONSTRAINT pk PRIMARY KEY DESC ON CONFLICT REPLACE AUTOINCREMENT,
      name VARCHAR(255) NOT NULL ON CONFLICT FAIL UNIQUE COLLATE nocase DEFAULT 'x',
      price DOUBLE PRECISION CHECK (price > 0) CHECK (price < 100) DEFAULT -1.5,
      big UNSIGNED BIG INT NULL DEFAULT +7,
      d DECIMAL(10, 5) DEFAULT (1 + 2),
      ts DEFAULT CURRENT_TIMESTAMP,
      owner INT REFERENCES users(id) ON DELETE CASCADE ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED,
      g GENERATED ALWAYS AS (id * 2) STORED,
      h AS (id + 1),
      w DEFAULT hello
    )`);
    expect(s).toMatchObject({ type: 'create_table', temporary: true, ifNotExists: true, name: 't', withoutRowid: false, strict: false });
    if (s.type !== 'create_table') throw new Error('unreachable');
    const byName = Object.fromEntries(s.columns.map((c) => [c.name, c]));
    expect(byName.id).toMatchObject({ type: 'INTEGER', constraints: { primaryKey: { direction: 'DESC', onConflict: 'REPLACE', autoincrement: true } } });
    expect(byName.name).toMatchObject({ type: 'VARCHAR(255)', constraints: { notNull: { onConflict: 'FAIL' }, unique: {}, collate: 'NOCASE', default: lit('x') } });
    expect(byName.price!.type).toBe('DOUBLE PRECISION');
    expect(byName.price!.constraints.check).toHaveLength(2);
    expect(show(byName.price!.constraints.default!)).toBe('(- 1.5r)');
    expect(byName.big).toMatchObject({ type: 'UNSIGNED BIG INT' });
    expect(show(byName.big!.constraints.default!)).toBe('(+ 7)');
    expect(byName.d).toMatchObject({ type: 'DECIMAL(10, 5)' });
    expect(show(byName.d!.constraints.default!)).toBe('(+ 1 2)');
    expect(byName.ts).toMatchObject({ type: '', constraints: { default: { kind: 'function', name: 'current_timestamp' } } });
    expect(byName.owner!.constraints.references).toEqual({ table: 'users', columns: ['id'], onDelete: 'CASCADE', onUpdate: 'SET NULL' });
    expect(byName.g!.constraints.generated).toMatchObject({ stored: true, expr: { op: '*' } });
    expect(byName.h!.constraints.generated).toMatchObject({ stored: false });
    expect(byName.w!.constraints.default).toMatchObject(lit('hello'));
  });

  it('parses table constraints and options', () => {
    expect(
      stmt('CREATE TABLE t (a, b, c, PRIMARY KEY (a DESC, b), CONSTRAINT u UNIQUE (c) ON CONFLICT IGNORE, CHECK (a > b) FOREIGN KEY (c) REFERENCES p (x)) WITHOUT ROWID, STRICT'),
    ).toMatchObject({
      columns: [{ name: 'a', type: '' }, { name: 'b' }, { name: 'c' }],
      constraints: [
        { kind: 'primary_key', columns: [{ expr: col('a'), direction: 'DESC' }, { expr: col('b') }] },
        { kind: 'unique', name: 'u', onConflict: 'IGNORE', columns: [{ expr: col('c') }] },
        { kind: 'check', expr: { op: '>' } },
        { kind: 'foreign_key', columns: ['c'], references: { table: 'p', columns: ['x'] } },
      ],
      withoutRowid: true,
      strict: true,
    });
    expect(stmt('CREATE TABLE t2 AS SELECT * FROM t')).toMatchObject({ asSelect: { type: 'select' }, columns: [] });
  });

  it('parses CREATE INDEX, VIEW and TRIGGER', () => {
    expect(stmt('CREATE UNIQUE INDEX IF NOT EXISTS i ON t (a COLLATE nocase DESC, b + 1) WHERE a > 0')).toMatchObject({
      type: 'create_index',
      unique: true,
      ifNotExists: true,
      name: 'i',
      table: 't',
      columns: [{ expr: { kind: 'collate' }, direction: 'DESC' }, { expr: { op: '+' } }],
      where: { op: '>' },
    });
    expect(stmt('CREATE TEMP VIEW IF NOT EXISTS v (x, y) AS SELECT 1, 2')).toMatchObject({
      type: 'create_view',
      temporary: true,
      ifNotExists: true,
      columns: ['x', 'y'],
      select: { type: 'select' },
    });
    expect(
      stmt(`CREATE TRIGGER IF NOT EXISTS tr INSTEAD OF UPDATE OF a, b ON v FOR EACH ROW WHEN new.a > 0 BEGIN
        INSERT INTO log VALUES (new.a);
        UPDATE t SET a = new.a WHERE id = old.id;
        DELETE FROM t WHERE id = 0;
        SELECT RAISE(ABORT, 'stop');
      END`),
    ).toMatchObject({
      type: 'create_trigger',
      timing: 'INSTEAD OF',
      event: { kind: 'UPDATE', columns: ['a', 'b'] },
      table: 'v',
      forEachRow: true,
      when: { op: '>' },
      body: [{ type: 'insert' }, { type: 'update' }, { type: 'delete' }, { type: 'select' }],
    });
    expect(stmt('CREATE TRIGGER t1r1 UPDATE ON t1 BEGIN SELECT 1; END')).toMatchObject({ timing: 'BEFORE', event: { kind: 'UPDATE' }, forEachRow: false });
    expect(stmt('CREATE TRIGGER a AFTER DELETE ON t BEGIN SELECT 1; END')).toMatchObject({ timing: 'AFTER', event: { kind: 'DELETE' } });
  });

  it('parses DROP and ALTER', () => {
    expect(tree('DROP TABLE IF EXISTS main.t')).toEqual({ type: 'drop', object: 'TABLE', ifExists: true, schema: 'main', name: 't' });
    for (const o of ['INDEX', 'VIEW', 'TRIGGER'] as const) expect(stmt(`DROP ${o} x`)).toMatchObject({ object: o, ifExists: false, name: 'x' });
    expect(stmt('ALTER TABLE t RENAME TO u')).toMatchObject({ action: { kind: 'rename_table', to: 'u' } });
    expect(stmt('ALTER TABLE t RENAME COLUMN a TO b')).toMatchObject({ action: { kind: 'rename_column', from: 'a', to: 'b' } });
    expect(stmt('ALTER TABLE t RENAME a TO b')).toMatchObject({ action: { kind: 'rename_column', from: 'a', to: 'b' } });
    expect(stmt("ALTER TABLE t ADD COLUMN c TEXT DEFAULT 'x'")).toMatchObject({ action: { kind: 'add_column', column: { name: 'c', type: 'TEXT' } } });
    expect(stmt('ALTER TABLE t DROP COLUMN c')).toMatchObject({ action: { kind: 'drop_column', name: 'c' } });
  });
});

describe('transactions and the rest', () => {
  const cases: Array<[string, unknown]> = [
    ['BEGIN', { type: 'begin', mode: 'DEFERRED' }],
    ['BEGIN IMMEDIATE TRANSACTION', { type: 'begin', mode: 'IMMEDIATE' }],
    ['BEGIN EXCLUSIVE', { type: 'begin', mode: 'EXCLUSIVE' }],
    ['COMMIT', { type: 'commit' }],
    ['END TRANSACTION', { type: 'commit' }],
    ['ROLLBACK', { type: 'rollback' }],
    ['ROLLBACK TO SAVEPOINT sp', { type: 'rollback', savepoint: 'sp' }],
    ['ROLLBACK TRANSACTION TO sp', { type: 'rollback', savepoint: 'sp' }],
    ['SAVEPOINT sp', { type: 'savepoint', name: 'sp' }],
    ['RELEASE SAVEPOINT sp', { type: 'release', name: 'sp' }],
    ['RELEASE sp', { type: 'release', name: 'sp' }],
    ['EXPLAIN SELECT 1', { type: 'explain', queryPlan: false, statement: { type: 'select', first: { kind: 'select', distinct: false, columns: [{ kind: 'expr', expr: lit(1) }] }, compounds: [] } }],
    ['EXPLAIN QUERY PLAN DELETE FROM t', { type: 'explain', queryPlan: true, statement: { type: 'delete', table: 't' } }],
    ['PRAGMA table_info(t)', { type: 'pragma', name: 'table_info', value: lit('t') }],
    ['PRAGMA main.cache_size = -2000', { type: 'pragma', schema: 'main', name: 'cache_size', value: lit(-2000) }],
    ['PRAGMA foreign_keys = ON', { type: 'pragma', name: 'foreign_keys', value: lit('ON') }],
    ['PRAGMA user_version', { type: 'pragma', name: 'user_version' }],
    ['REINDEX', { type: 'reindex' }],
    ['REINDEX t1', { type: 'reindex', name: 't1' }],
    ['ANALYZE', { type: 'analyze' }],
    ['VACUUM', { type: 'vacuum' }],
  ];
  for (const [sql, expected] of cases) {
    it(sql, () => {
      expect(strip(stmt(sql))).toEqual(expected);
    });
  }
});

describe('statement lists, slices and parameters', () => {
  it('splits statements and records their text slices', () => {
    const sql = '  SELECT 1;\n-- c\nINSERT INTO t VALUES (2) ;; CREATE TABLE x(a) ';
    const list = parse(sql);
    expect(list.map((p) => sql.slice(p.start, p.end))).toEqual(['SELECT 1', 'INSERT INTO t VALUES (2)', 'CREATE TABLE x(a)']);
    expect(parse('')).toEqual([]);
    expect(parse(' -- only a comment\n /* and another */ ;')).toEqual([]);
  });

  it('parses a trigger body with inner semicolons as one statement', () => {
    const list = parse('CREATE TRIGGER r AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END; SELECT 3');
    expect(list.map((p) => p.statement.type)).toEqual(['create_trigger', 'select']);
  });

  it('parseOne allows one trailing semicolon and nothing else', () => {
    expect(parseOne('SELECT 1;').statement.type).toBe('select');
    expect(() => parseOne('SELECT 1; SELECT 2')).toThrow(/near "SELECT": syntax error/);
    expect(() => parseOne('')).toThrow(/incomplete input/);
  });

  it('numbers parameters like SQLite', () => {
    const p = parseOne('SELECT ?, :a, ?5, @b, :a, ?, $c, ?2');
    expect(p.parameterCount).toBe(8);
    expect([...p.parameterNames]).toEqual([
      [':a', 2],
      ['@b', 6],
      ['$c', 8],
    ]);
    const s = p.statement;
    const shown = s.type === 'select' && s.first.kind === 'select' ? s.first.columns.map((c) => (c.kind === 'expr' ? show(c.expr) : '')) : [];
    expect(shown).toEqual(['?1', ':a#2', '?5', '@b#6', ':a#2', '?7', '$c#8', '?2']);
    expect(parseOne('INSERT INTO t VALUES (?, ?, ?)').parameterCount).toBe(3);
    expect(parseOne('SELECT 1').parameterCount).toBe(0);
    // each statement numbers its own parameters
    expect(parse('SELECT ?; SELECT ?, ?').map((x) => x.parameterCount)).toEqual([1, 2]);
    expect(parseOne('WITH c AS (SELECT ?) SELECT ? FROM c').parameterCount).toBe(2);
  });
});
