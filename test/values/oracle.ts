/**
 * Differential-testing support: better-sqlite3 (real SQLite) as the oracle for value semantics,
 * plus a seeded generator of awkward SQL values (int64 edges, integral REALs, numeric-looking
 * text, unicode, blobs).
 */
import Database from 'better-sqlite3';
import { Real, int, real, storageClass, type Value } from '../../base/values.js';
import type { Rng } from '../support/random.js';

export const db: Database.Database = new Database(':memory:');

type Statement = ReturnType<typeof db.prepare>;
const statements = new Map<string, Statement>();

/** Rewrite `?N` parameters (which better-sqlite3 will not bind positionally) into plain `?`. */
function expandNumbered(sql: string, params: readonly Value[]): [string, Value[]] {
  if (!/\?\d/.test(sql)) return [sql, [...params]];
  const out: Value[] = [];
  const text = sql.replace(/\?(\d+)/g, (_m, n: string) => {
    out.push(params[Number(n) - 1]!);
    return '?';
  });
  return [text, out];
}

function statement(sql: string): Statement {
  let st = statements.get(sql);
  if (st === undefined) {
    st = db.prepare(sql).safeIntegers(true).raw();
    statements.set(sql, st);
  }
  return st;
}

export function toParam(v: Value): unknown {
  if (v === null || typeof v === 'string') return v;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (v instanceof Real) return v.value;
  return Buffer.from(v);
}

export function fromOracle(x: unknown): Value {
  if (x === null || typeof x === 'string') return x;
  if (typeof x === 'bigint') return int(x);
  if (typeof x === 'number') return real(x);
  if (x instanceof Uint8Array) return new Uint8Array(x);
  throw new Error(`unexpected oracle value ${String(x)}`);
}

function run(sql: string, args: readonly Value[]): unknown[] {
  const st = statement(sql) as unknown as { get(...params: unknown[]): unknown };
  return st.get(...args.map(toParam)) as unknown[];
}

/** A test's seed: DOSQL_SEED from the environment (to replay or vary a run), else the default. */
export function seedOr(defaultSeed: number): number {
  const env = process.env['DOSQL_SEED'];
  return env === undefined ? defaultSeed : Number(env) + defaultSeed;
}

/** The first column of the first row, or { error } when SQLite raises one. */
export function oracle(sql: string, params: readonly Value[] = []): Value | { error: string } {
  try {
    const [text, args] = expandNumbered(sql, params);
    const row = run(text, args);
    return fromOracle(row[0]);
  } catch (e) {
    return { error: (e as Error).message };
  }
}

export function oracleRow(sql: string, params: readonly Value[] = []): Value[] {
  const [text, args] = expandNumbered(sql, params);
  const row = run(text, args);
  return row.map(fromOracle);
}

/** A canonical string for a value: storage class and exact content (-0.0 reads as 0.0). */
export function key(v: Value | { error: string }): string {
  if (v !== null && typeof v === 'object' && 'error' in v) return `error:${v.error}`;
  const val = v as Value;
  switch (storageClass(val)) {
    case 'null':
      return 'null';
    case 'integer':
      return `integer:${String(val)}`;
    case 'real': {
      const x = val instanceof Real ? val.value : (val as number);
      return `real:${Object.is(x, -0) ? '0' : String(x)}`;
    }
    case 'text':
      return `text:${JSON.stringify(val)}`;
    case 'blob':
      return `blob:${Buffer.from(val as Uint8Array).toString('hex')}`;
  }
}

/** Run fn and capture a thrown error's message the way `key` prints oracle errors. */
export function attempt(fn: () => Value): Value | { error: string } {
  try {
    return fn();
  } catch (e) {
    return { error: (e as Error).message };
  }
}

export function describe(v: Value): string {
  return key(v);
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** A random finite double drawn from several shapes. */
export function genDouble(r: Rng): number {
  switch (r.int(7)) {
    case 0: {
      u32[0] = r.int(2 ** 32);
      u32[1] = r.int(2 ** 32);
      const x = f64[0]!;
      return Number.isFinite(x) ? x : 1.5;
    }
    case 1:
      return (r.next() - 0.5) * 10 ** (r.int(40) - 20);
    case 2:
      return Math.round((r.next() - 0.5) * 2e6) / 10 ** r.int(8);
    case 3:
      return Number((r.next() * 100).toFixed(r.int(17)));
    case 4:
      return r.pick([0.1, 0.5, 1.5, 2.5, -2.5, 1e15, 1e16, 1e17, 1e20, 1e-5, 1e-4, 123456789012345678, 9.223372036854776e18, -9.223372036854776e18, 4503599627370496.5, 1e308, 5e-324, 2 ** 53, 2 ** 63, 0.30000000000000004]);
    case 5:
      return r.int(2001) - 1000; // integral: becomes an integral REAL
    default:
      return 10 ** (r.int(60) - 30) * (r.chance(0.5) ? 1 : -1);
  }
}

const INT_EDGES = [
  0n, 1n, -1n, 2n, 10n, 255n, 9007199254740991n, 9007199254740992n, -9007199254740993n,
  9223372036854775807n, -9223372036854775808n, 9223372036854775806n, -9223372036854775807n,
  4294967296n, 2147483647n, -2147483648n, 4611686018427387904n,
];

export function genInt(r: Rng): number | bigint {
  switch (r.int(4)) {
    case 0:
      return int(r.pick(INT_EDGES));
    case 1:
      return r.int(201) - 100;
    case 2:
      return int(BigInt.asIntN(64, (BigInt(r.int(2 ** 32)) << 32n) | BigInt(r.int(2 ** 32))));
    default:
      return r.int(2 ** 31) * (r.chance(0.5) ? 1 : -1);
  }
}

const TEXTS = [
  '', ' ', 'abc', 'ABC', 'aBc', 'abc ', 'abc  ', '12', ' 12 ', '012', '12abc', '1.5', '1.', '.5', '-.5', '+7',
  '1e3', '1E-2', '1e', '1e+', '-0', '0.0', '-0.0', '3.0', '  -3.0e-2x', '0x10', '9223372036854775807',
  '9223372036854775808', '-9223372036854775808', '-9223372036854775809', '18446744073709551616',
  '1.0e+20', '123456789012345678901234567890', 'héllo', 'HÉLLO', 'ß', '日本語', '😀x', 'a%b', 'a_b', "it's",
  'tab\there', 'line\nbreak', '\u0001ctl', 'back\\slash', 'x\u0000y', 'Inf', 'NaN', '1,000', '  ', '\t5\n',
  '4.35', '0.1', '1e400', '-1e400', '1e-400', '00000000000000000001',
];

export function genText(r: Rng): string {
  if (r.chance(0.7)) return r.pick(TEXTS);
  if (r.chance(0.5)) return String(genDouble(r));
  const alphabet = 'aAbB_%. 09-e+😀é';
  const chars = [...alphabet];
  let s = '';
  const n = r.int(6);
  for (let i = 0; i < n; i++) s += r.pick(chars);
  return s;
}

export function genBlob(r: Rng): Uint8Array {
  if (r.chance(0.3)) return new TextEncoder().encode(r.pick(['12', '1.5', 'abc', '', ' 7 ']));
  const n = r.int(6);
  return Uint8Array.from({ length: n }, () => r.int(256));
}

/** A random value of any storage class. */
export function genValue(r: Rng): Value {
  switch (r.int(9)) {
    case 0:
      return null;
    case 1:
    case 2:
      return genInt(r);
    case 3:
    case 4:
      return real(genDouble(r));
    case 5:
    case 6:
    case 7:
      return genText(r);
    default:
      return genBlob(r);
  }
}
