/**
 * Random schemas and data for the differential test.
 *
 * Tables t0..t3 draw their column names from one small pool, so tables share names (which makes
 * USING joins and ambiguous-looking references possible) and their declared types from every
 * affinity SQLite has, including none. Data is biased toward small integers, so joins and IN
 * actually match, and salted with the awkward values: NULLs, int64 edges, REALs like 0.1 and
 * 1e300, integral REALs, empty and numeric-looking strings, blobs, all mixed in one column. Values
 * are written as SQL literals so both engines read exactly the same statement text.
 */
import type { Rng } from '../support/random.js';

export interface TableSpec {
  name: string;
  columns: string[];
}

export interface Setup {
  tables: TableSpec[];
  /** DDL and INSERT statements, in order; each is run on both engines and must agree. */
  statements: string[];
}

const COLUMN_NAMES = ['a', 'b', 'c', 'd', 'e', 'f'] as const;
const DECLARED_TYPES = ['INTEGER', 'REAL', 'TEXT', 'BLOB', 'NUMERIC', ''] as const;
const TABLES_MIN = 2;
const TABLES_MAX = 4;
const COLUMNS_MIN = 2;
const COLUMNS_MAX = 5;
const ROWS_MAX = 14;

export const INT_EDGES = [
  '9223372036854775807', '-9223372036854775808', '9223372036854775806', '-9223372036854775807',
  '9007199254740992', '9007199254740993', '-9007199254740993', '4294967296', '2147483647',
];
export const REAL_VALUES = [
  '0.1', '-0.1', '0.5', '1.5', '2.0', '-2.5', '3.0', '1e300', '-1e300', '1e-300', '1e18', '9.3e18',
  '-9.3e18', '9223372036854775807.0', '3.14159', '100.25', '0.0', '-0.0',
];
export const TEXT_VALUES = [
  "''", "'a'", "'abc'", "'ABC'", "'b'", "'12'", "' 3.5'", "'3.5'", "'-7'", "'1e3'", "'0x10'",
  "'12abc'", "'a%b'", "'a_c'", "'2'", "'0'", "'  '", "'NULL'", "'9223372036854775808'", "'x y'",
];
export const BLOB_VALUES = ["x''", "x'00'", "x'41'", "x'3132'", "x'ff00'"];

export function smallInt(r: Rng): string {
  return String(r.int(9) - 2);
}

/** One data value as a SQL literal. */
export function dataValue(r: Rng): string {
  const p = r.next();
  if (p < 0.12) return 'NULL';
  if (p < 0.55) return smallInt(r);
  if (p < 0.68) return r.pick(REAL_VALUES);
  if (p < 0.85) return r.pick(TEXT_VALUES);
  if (p < 0.9) return r.pick(BLOB_VALUES);
  return r.pick(INT_EDGES);
}

export interface SetupOptions {
  /** Index columns declared TEXT, BLOB or untyped; see KNOWN_GAPS.indexNonNumericColumns. */
  indexNonNumericColumns: boolean;
  /** Insert NULL into an INTEGER PRIMARY KEY; see KNOWN_GAPS.autoRowidBelowZero. */
  autoRowid: boolean;
  /** Insert NULL into other PRIMARY KEY columns; see KNOWN_GAPS.nullPrimaryKey. */
  nullPrimaryKey: boolean;
}

export function generateSetup(r: Rng, options: SetupOptions): Setup {
  const tables: TableSpec[] = [];
  const statements: string[] = [];
  const tableCount = TABLES_MIN + r.int(TABLES_MAX - TABLES_MIN + 1);
  let indexes = 0;
  const ipk = new Map<string, boolean>();
  const composite = new Map<string, boolean>();
  const indexStatements: string[] = [];
  for (let t = 0; t < tableCount; t++) {
    const name = `t${t}`;
    const names = [...COLUMN_NAMES];
    const count = COLUMNS_MIN + r.int(COLUMNS_MAX - COLUMNS_MIN + 1);
    const columns: string[] = [];
    for (let c = 0; c < count; c++) columns.push(names.splice(r.int(names.length), 1)[0]!);
    const pkKind = r.pick(['none', 'none', 'ipk', 'composite'] as const);
    const types: string[] = [];
    const defs = columns.map((col, i) => {
      if (i === 0 && pkKind === 'ipk') {
        types.push('INTEGER');
        return `${col} INTEGER PRIMARY KEY`;
      }
      const type = r.pick(DECLARED_TYPES);
      types.push(type);
      const unique = r.chance(0.12) ? ' UNIQUE' : '';
      const notNull = r.chance(0.05) ? ' NOT NULL' : '';
      return `${col}${type ? ` ${type}` : ''}${unique}${notNull}`;
    });
    if (pkKind === 'composite') defs.push(`PRIMARY KEY (${columns[0]}, ${columns[1]})`);
    statements.push(`CREATE TABLE ${name} (${defs.join(', ')})`);
    tables.push({ name, columns });
    ipk.set(name, pkKind === 'ipk');
    composite.set(name, pkKind === 'composite');
    const indexCount = r.int(3);
    for (let k = 0; k < indexCount; k++) {
      const cols = [r.pick(columns)];
      if (r.chance(0.4)) {
        const other = r.pick(columns);
        if (other !== cols[0]) cols.push(other);
      }
      if (!options.indexNonNumericColumns && cols.some((c) => ['TEXT', 'BLOB', ''].includes(types[columns.indexOf(c)]!))) continue;
      const unique = r.chance(0.15) ? 'UNIQUE ' : '';
      const dir = r.chance(0.2) ? ' DESC' : '';
      indexStatements.push(`CREATE ${unique}INDEX ix${indexes++} ON ${name} (${cols.join(', ')}${dir})`);
    }
  }
  const indexesFirst = r.chance(0.5);
  if (indexesFirst) statements.push(...indexStatements);
  for (const t of tables) {
    const rows = r.chance(0.06) ? 0 : 1 + r.int(ROWS_MAX);
    for (let i = 0; i < rows; i++) {
      const values = t.columns.map(() => dataValue(r));
      // With the rowid at INT64_MAX, SQLite picks the next automatic rowid at random; and a rowid
      // of INT64_MIN matches the REAL -2^63 in a scan but not in a rowid seek, so SQLite's own
      // answer would depend on its plan.
      // The REAL 9223372036854775807.0 becomes that rowid too.
      const int64Edge = [INT_EDGES[0], INT_EDGES[1], '9223372036854775807.0'];
      if (ipk.get(t.name) && int64Edge.includes(values[0]!)) values[0] = smallInt(r);
      if (ipk.get(t.name) && values[0] === 'NULL' && !options.autoRowid) values[0] = smallInt(r);
      if (composite.get(t.name) && !options.nullPrimaryKey) {
        for (const k of [0, 1]) if (values[k] === 'NULL') values[k] = smallInt(r);
      }
      statements.push(`INSERT INTO ${t.name} VALUES (${values.join(', ')})`);
    }
  }
  if (!indexesFirst) statements.push(...indexStatements);
  return { tables, statements };
}
