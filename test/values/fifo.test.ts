/** Fifo (base/fifo.ts): first in, first out, across the compactions of its backing array. */
import { describe, expect, it } from 'vitest';
import { Fifo } from '../../base/fifo.js';
import { rng } from '../support/random.js';

describe('Fifo', () => {
  it('gives items back in arrival order under random pushes and shifts', () => {
    const r = rng(5);
    const q = new Fifo<number>();
    const reference: number[] = [];
    let next = 0;
    for (let step = 0; step < 50_000; step++) {
      if (r.int(3) > 0) {
        q.push(next);
        reference.push(next++);
      } else {
        expect(q.shift()).toBe(reference.shift());
      }
      expect(q.length).toBe(reference.length);
    }
    while (reference.length) expect(q.shift()).toBe(reference.shift());
    expect(q.shift()).toBeUndefined();
    expect(q.length).toBe(0);
  });
});
