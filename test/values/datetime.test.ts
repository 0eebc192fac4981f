import { describe, expect, it } from 'vitest';
import { real, type Value } from '../../base/values.js';
import * as V from '../../query/values/index.js';
import { rng, type Rng } from '../support/random.js';
import { attempt, key, oracle, seedOr } from './oracle.js';

const SEED = seedOr(0xda7e);
const ctx: V.FunctionContext = { random: () => 0n, now: () => 0 };

const d2 = (r: Rng, max: number, min = 0): string => String(min + r.int(max - min + 1)).padStart(2, '0');

function genDateText(r: Rng): string {
  const year = r.pick(['2024', '2023', '1970', '2000', '1900', '0000', '9999', '1582', '2038', String(1000 + r.int(9000))]);
  let s = `${r.chance(0.05) ? '-' : ''}${year}-${d2(r, 12, r.chance(0.05) ? 0 : 1)}-${d2(r, 31, 1)}`;
  if (r.chance(0.7)) {
    s += r.pick([' ', 'T', '  ', 't']);
    s += `${d2(r, 24)}:${d2(r, 59)}`;
    if (r.chance(0.7)) s += `:${d2(r, 59)}`;
    if (r.chance(0.4)) s += '.' + String(r.int(100000)).slice(0, 1 + r.int(5));
    if (r.chance(0.2)) s += r.pick(['Z', 'z', '+05:30', '-08:00', ' +00:00', '-14:00', '+1:00', ' Z ']);
  }
  return s;
}

function genTimeValue(r: Rng): Value {
  switch (r.int(10)) {
    case 0:
      return `${d2(r, 25)}:${d2(r, 60)}${r.chance(0.5) ? `:${d2(r, 59)}.${r.int(1000)}` : ''}`;
    case 1:
      return r.int(2 ** 31) * (r.chance(0.2) ? -1 : 1);
    case 2:
      return real(2440587.5 + (r.next() - 0.5) * 1e6);
    case 3:
      return r.pick(['', 'x', '2024-02-30', '2023-02-29', '2024-13-01', '12:60', '24:00', '2024-1-1', ' 2024-01-01', '2024-01-01 ', '2460000.5', ' 1e6 ', 'subsec', '0', '5373484.5', '5373484.4', null, '2024-01-01 12:00:00.9999', '2024-01-01T12:00:00.9995']);
    case 4:
      return String(r.int(5e6)) + (r.chance(0.5) ? '.' + r.int(1000) : '');
    case 5:
      return real((r.next() - 0.3) * 4e11);
    default:
      return genDateText(r);
  }
}

const UNITS = ['day', 'days', 'hour', 'hours', 'minute', 'minutes', 'second', 'seconds', 'month', 'months', 'year', 'years', 'DAYS', 'fortnight'];

function genModifier(r: Rng): string {
  switch (r.int(8)) {
    case 0:
    case 1: {
      const n = r.chance(0.5) ? String(r.int(400) - 200) : ((r.next() - 0.5) * 1000).toFixed(r.int(4));
      return `${r.chance(0.3) ? '+' : ''}${n} ${r.pick(UNITS)}`;
    }
    case 2:
      return `${r.pick(['+', '-', ''])}${d2(r, 30)}:${d2(r, 59)}${r.chance(0.5) ? `:${d2(r, 59)}.${r.int(1000)}` : ''}`;
    case 3:
      return `${r.pick(['+', '-'])}${String(r.int(30)).padStart(4, '0')}-${d2(r, 12)}-${d2(r, 31)}${r.chance(0.3) ? ` ${d2(r, 23)}:${d2(r, 59)}` : ''}`;
    case 4:
      return `weekday ${r.pick(['0', '1', '3', '6', '7', '2.5', '-1'])}`;
    default:
      return r.pick([
        'start of month', 'start of year', 'start of day', 'start of week', 'Start Of Month', 'unixepoch',
        'julianday', 'auto', 'localtime', 'utc', 'subsec', 'subsecond', 'floor', 'ceiling', 'bogus', '',
      ]);
  }
}

const FORMATS = [
  '%d', '%e', '%f', '%F', '%G', '%g', '%H', '%I', '%j', '%J', '%k', '%l', '%m', '%M', '%p', '%P', '%R',
  '%s', '%S', '%T', '%u', '%U', '%V', '%w', '%W', '%Y', '%%', '%Y-%m-%d %H:%M:%f', 'x%q', 'plain', '%',
  'week %W/%U/%V %G-%g %j day %u %w', '%J %s', '',
];

const FUNCS = ['date', 'time', 'datetime', 'julianday', 'unixepoch', 'strftime'];

function check(name: string, args: Value[]): string | null {
  const sql = `SELECT ${name}(${args.map(() => '?').join(', ')})`;
  const want = key(oracle(sql, args));
  const got = key(attempt(() => V.SCALAR_FUNCTIONS[name]!.fn(args, ctx)));
  return got === want ? null : `${name}(${args.map(key).join(', ')}): got ${got} want ${want}`;
}

describe('date and time functions match SQLite', () => {
  it(`random time values, modifiers and formats (seed ${SEED})`, () => {
    const r = rng(SEED);
    const failures: string[] = [];
    let nonNull = 0;
    for (let i = 0; i < 6000; i++) {
      const name = r.pick(FUNCS);
      const args: Value[] = [];
      if (name === 'strftime') args.push(r.pick(FORMATS));
      args.push(genTimeValue(r));
      const nMods = r.int(4);
      for (let k = 0; k < nMods; k++) args.push(genModifier(r));
      if (args.some((a) => typeof a === 'string' && /^(now|subsec(ond)?)$/i.test(a) && a === args[name === 'strftime' ? 1 : 0])) continue;
      const f = check(name, args);
      if (f !== null) failures.push(f);
      if (V.SCALAR_FUNCTIONS[name]!.fn(args, ctx) !== null) nonNull++;
    }
    expect(failures.slice(0, 15), `seed ${SEED}`).toEqual([]);
    expect(nonNull).toBeGreaterThan(2000); // the generator must mostly produce valid dates
  });

  it(`timediff (seed ${SEED})`, () => {
    const r = rng(SEED + 1);
    const failures: string[] = [];
    for (let i = 0; i < 800; i++) {
      const args = [genTimeValue(r), genTimeValue(r)];
      if (args.some((a) => typeof a === 'string' && /^subsec/i.test(a))) continue;
      const f = check('timediff', args);
      if (f !== null) failures.push(f);
    }
    expect(failures.slice(0, 15), `seed ${SEED}`).toEqual([]);
  });

  it('fixed cases', () => {
    const cases: Value[][] = [
      ['2024-02-29', '+1 year'], ['2024-01-31', '+1 month'], ['2024-01-31', '+1 month', 'floor'],
      ['2024-03-31', '-1 month'], ['2023-12-31 23:59:59.999', '+1 second'], ['1970-01-01', '+1.5 days'],
      [1700000000, 'unixepoch'], [1700000000.123, 'unixepoch', 'subsec'], [2460000.25], ['2460000.25', 'julianday'],
      [1700000000, 'auto'], [2460000, 'auto'], ['2024-05-05', 'weekday 0'], ['2024-05-05 10:00', '-02:30'],
      ['2024-05-05', '+0001-02-03 04:05'], ['2024-05-05', '-0001-11-30'], [1e10, 'localtime'], ['-4713-11-24 12:00'],
      ['2024-01-01T00:00:00+14:00'], ['12:34:56.789', 'subsec'], ['2024-06-15', 'start of year', '+6 months', 'weekday 1'],
    ];
    const failures: string[] = [];
    for (const args of cases) {
      for (const name of ['datetime', 'julianday', 'unixepoch']) {
        const f = check(name, args);
        if (f !== null) failures.push(f);
      }
    }
    expect(failures).toEqual([]);
  });

  it("'now' and current_* read the injected clock", () => {
    const at = Date.UTC(2024, 1, 29, 13, 45, 7, 250);
    const c: V.FunctionContext = { random: () => 0n, now: () => at };
    const call = (name: string, ...args: Value[]): Value => V.SCALAR_FUNCTIONS[name]!.fn(args, c);
    expect(call('datetime', 'now')).toBe('2024-02-29 13:45:07');
    expect(call('datetime')).toBe('2024-02-29 13:45:07');
    expect(call('datetime', 'now', 'subsec')).toBe('2024-02-29 13:45:07.250');
    expect(call('datetime', 'subsec')).toBe('2024-02-29 13:45:07.250');
    expect(call('current_date')).toBe('2024-02-29');
    expect(call('current_time')).toBe('13:45:07');
    expect(call('current_timestamp')).toBe('2024-02-29 13:45:07');
    expect(call('unixepoch', 'NOW')).toBe(Math.floor(at / 1000));
    expect(call('strftime', '%s', 'now', 'localtime')).toBe(String(Math.floor(at / 1000)));
    expect(V.SCALAR_FUNCTIONS['date']!.deterministic).toBe(false);
  });
});
