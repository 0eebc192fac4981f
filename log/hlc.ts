/**
 * Hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical Clocks", 2014).
 *
 * Every commit is stamped with an HLC so that the log is ordered by a timestamp that stays close
 * to wall-clock time (time travel, `lsnAtTimestamp`) yet never goes backwards, whatever the
 * machine's clock does. A timestamp is a pair (physical ms, logical counter) packed into one
 * bigint, `physicalMs * 2^HLC_LOGICAL_BITS + logical`, so packed order is pair order.
 *
 * `now()` takes max(last physical, wall clock): when the wall clock moved forward the counter
 * resets to 0, otherwise (clock stalled or went backwards) the counter increments. When the
 * counter would overflow its 16 bits, the physical part advances by 1 ms instead: the stamp
 * drifts at most a little ahead of real time but stays strictly increasing.
 *
 * `observe(h)` merges a timestamp seen elsewhere (another node, or the last commit found in the
 * log on open) so that every later `now()` is greater than it: this is what keeps stamps
 * monotonic across restarts even if the restarted process's clock is behind.
 *
 * The wall clock is a parameter (Unix ms) so tests can drive it deterministically.
 */
import { DosqlError, assert } from '../base/errors.js';
import type { Hlc } from './types.js';

/** Bits of the logical counter in a packed HLC. */
export const HLC_LOGICAL_BITS = 16;
/** Largest logical counter value. */
export const HLC_LOGICAL_MAX = (1 << HLC_LOGICAL_BITS) - 1;
/** Largest physical part (ms) that fits a packed HLC in 64 bits. */
export const HLC_PHYSICAL_MS_MAX = 2 ** (64 - HLC_LOGICAL_BITS) - 1;

const LOGICAL_BITS_BIG = BigInt(HLC_LOGICAL_BITS);
const LOGICAL_MASK_BIG = BigInt(HLC_LOGICAL_MAX);

export function hlcPack(physicalMs: number, logical: number): Hlc {
  assert(Number.isSafeInteger(physicalMs) && physicalMs >= 0, `hlc physical ms ${physicalMs} must be a natural number`);
  assert(Number.isInteger(logical) && logical >= 0 && logical <= HLC_LOGICAL_MAX, `hlc logical ${logical} out of range`);
  return (BigInt(physicalMs) << LOGICAL_BITS_BIG) | BigInt(logical);
}

export function hlcPhysicalMs(h: Hlc): number {
  return Number(h >> LOGICAL_BITS_BIG);
}

export function hlcLogical(h: Hlc): number {
  return Number(h & LOGICAL_MASK_BIG);
}

export class HybridClock {
  private physical = 0;
  private logical = 0;

  constructor(private readonly clock: () => number) {}

  /** A timestamp strictly greater than every one returned or observed before. */
  now(): Hlc {
    const before = this.last();
    const wall = this.wallMs();
    if (wall > this.physical) {
      this.physical = wall;
      this.logical = 0;
    } else if (this.logical < HLC_LOGICAL_MAX) {
      this.logical++;
    } else {
      this.physical++;
      this.logical = 0;
    }
    if (this.physical > HLC_PHYSICAL_MS_MAX) {
      throw new DosqlError('RANGE', `hybrid clock passed its largest time (${HLC_PHYSICAL_MS_MAX} ms)`);
    }
    const h = this.last();
    assert(h > before, 'hlc must strictly increase');
    return h;
  }

  /** Merge a timestamp seen elsewhere: every later `now()` is greater than `h`. */
  observe(h: Hlc): void {
    assert(h >= 0n, 'hlc must not be negative');
    if (h <= this.last()) return;
    this.physical = hlcPhysicalMs(h);
    this.logical = hlcLogical(h);
  }

  /** The greatest timestamp returned or observed so far (0n before any). */
  last(): Hlc {
    return hlcPack(this.physical, this.logical);
  }

  /** The wall clock as whole ms; a clock returning garbage (NaN, negative) counts as stalled. */
  private wallMs(): number {
    const t = Math.floor(this.clock());
    return Number.isSafeInteger(t) && t > 0 ? t : 0;
  }
}
