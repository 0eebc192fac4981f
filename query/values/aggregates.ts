/**
 * SQLite's built-in aggregate functions (lang_aggfunc.html), ported from func.c so that results
 * agree to the bit: sum/total/avg use SQLite's integer accumulator and switch to
 * Kahan-Babuska-Neumaier summation once a REAL (or an int64 overflow) is seen; sum() of
 * integers that overflow is an error unless a later REAL input makes the sum approximate.
 *
 * count(*) is `step([])`. NULL arguments are skipped by every aggregate. DISTINCT and FILTER
 * are the caller's business (it decides which rows reach `step`).
 */
import { DosqlError } from '../../base/errors.js';
import { INT64_MAX, INT64_MIN, Real, int, type Value } from '../../base/values.js';
import { compareValues, type Collation } from './compare.js';
import { numericAffinityOfText, realResult, toDouble, toInt64, toText } from './convert.js';
import { JSON_AGGREGATES } from './json.js';

export interface Aggregate {
  step(args: Value[]): void;
  final(): Value;
}

/** |x| beyond which an int64 is split before being added as a double. */
const KBN_SPLIT_THRESHOLD = 4503599627370496n;

function isOverflow(x: number): boolean {
  return !Number.isFinite(x);
}

/** sqlite3_value_numeric_type: 'integer', 'real', or 'other' for NULL-free non-numeric text/blob. */
function numericClass(v: Value): 'integer' | 'real' | 'other' {
  let x = v;
  if (typeof x === 'string') x = numericAffinityOfText(x, false);
  if (typeof x === 'bigint' || (typeof x === 'number' && Number.isSafeInteger(x))) return 'integer';
  if (typeof x === 'number' || x instanceof Real) return 'real';
  return 'other';
}

/** The SumCtx of func.c, shared by sum(), total() and avg(). */
class SumState {
  rSum = 0;
  rErr = 0;
  iSum = 0n;
  cnt = 0;
  approx = false;
  overflow = false;

  private kbnStep(r: number): void {
    const s = this.rSum;
    const t = s + r;
    if (Math.abs(s) > Math.abs(r)) this.rErr += s - t + r;
    else this.rErr += r - t + s;
    this.rSum = t;
  }

  private kbnStepInt(i: bigint): void {
    if (i <= -KBN_SPLIT_THRESHOLD || i >= KBN_SPLIT_THRESHOLD) {
      const small = i % 16384n;
      this.kbnStep(Number(i - small));
      this.kbnStep(Number(small));
    } else {
      this.kbnStep(Number(i));
    }
  }

  private kbnInit(i: bigint): void {
    if (i <= -KBN_SPLIT_THRESHOLD || i >= KBN_SPLIT_THRESHOLD) {
      const small = i % 16384n;
      this.rSum = Number(i - small);
      this.rErr = Number(small);
    } else {
      this.rSum = Number(i);
      this.rErr = 0;
    }
  }

  step(v: Value): void {
    if (v === null) return;
    const cls = numericClass(v);
    this.cnt++;
    if (!this.approx) {
      if (cls !== 'integer') {
        this.kbnInit(this.iSum);
        this.approx = true;
        this.kbnStep(toDouble(v));
      } else {
        const x = toInt64(v);
        const sum = this.iSum + x;
        if (sum >= INT64_MIN && sum <= INT64_MAX) {
          this.iSum = sum;
        } else {
          this.overflow = true;
          this.kbnInit(this.iSum);
          this.approx = true;
          this.kbnStepInt(x);
        }
      }
    } else if (cls === 'integer') {
      this.kbnStepInt(toInt64(v));
    } else {
      this.overflow = false;
      this.kbnStep(toDouble(v));
    }
  }

  approxValue(): number {
    return isOverflow(this.rErr) ? this.rSum : this.rSum + this.rErr;
  }
}

function sumAggregate(): Aggregate {
  const s = new SumState();
  return {
    step: (args) => s.step(args[0]!),
    final: () => {
      if (s.cnt === 0) return null;
      if (!s.approx) return int(s.iSum);
      if (s.overflow) throw new DosqlError('ERROR', 'integer overflow');
      return realResult(s.approxValue());
    },
  };
}

function totalAggregate(): Aggregate {
  const s = new SumState();
  return {
    step: (args) => s.step(args[0]!),
    final: () => realResult(s.approx ? s.approxValue() : Number(s.iSum)),
  };
}

function avgAggregate(): Aggregate {
  const s = new SumState();
  return {
    step: (args) => s.step(args[0]!),
    final: () => {
      if (s.cnt === 0) return null;
      const r = s.approx ? s.approxValue() : Number(s.iSum);
      return realResult(r / s.cnt);
    },
  };
}

function countAggregate(): Aggregate {
  let n = 0;
  return {
    step: (args) => {
      if (args.length === 0 || args[0] !== null) n++;
    },
    final: () => n,
  };
}

/** min()/max(): the first value that no later value beats; NULLs ignored; NULL if none. */
function minMaxAggregate(isMax: boolean, collation?: Collation): Aggregate {
  let best: Value = null;
  let seen = false;
  return {
    step: (args) => {
      const v = args[0]!;
      if (v === null) return;
      if (!seen) {
        best = v;
        seen = true;
        return;
      }
      const cmp = compareValues(best, v, collation);
      if (isMax ? cmp < 0 : cmp > 0) best = v;
    },
    final: () => best,
  };
}

/** group_concat(X [, SEP]): SEP of each row (default ',') goes before its X; NULL X skipped. */
function groupConcatAggregate(defaultSep: string | null): Aggregate {
  const parts: string[] = [];
  let any = false;
  return {
    step: (args) => {
      const v = args[0]!;
      if (v === null) return;
      if (any) {
        const sep = args.length >= 2 ? toText(args[1]!) : defaultSep;
        if (sep !== null) parts.push(sep);
      }
      any = true;
      parts.push(toText(v)!);
    },
    final: () => (any ? parts.join('') : null),
  };
}

export const AGGREGATES: Record<string, () => Aggregate> = {
  count: countAggregate,
  sum: sumAggregate,
  total: totalAggregate,
  avg: avgAggregate,
  min: () => minMaxAggregate(false),
  max: () => minMaxAggregate(true),
  group_concat: () => groupConcatAggregate(','),
  string_agg: () => groupConcatAggregate(null),
  ...JSON_AGGREGATES,
};

/** min()/max() aggregates under a collation other than BINARY. */
export function minMaxWithCollation(name: 'min' | 'max', collation: Collation): Aggregate {
  return minMaxAggregate(name === 'max', collation);
}
