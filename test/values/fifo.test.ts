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
        expect(q.peek()).toBe(reference[0]);
        expect(q.shift()).toBe(reference.shift());
      }
      expect(q.length).toBe(reference.length);
    }
    while (reference.length) expect(q.shift()).toBe(reference.shift());
    expect(q.shift()).toBeUndefined();
    expect(q.length).toBe(0);
  });

  it('is empty after clear, and keeps order after it', () => {
    const q = new Fifo<number>();
    for (let i = 0; i < 3000; i++) q.push(i);
    for (let i = 0; i < 1500; i++) q.shift();
    q.clear();
    expect(q.length).toBe(0);
    expect(q.peek()).toBeUndefined();
    q.push(7);
    q.push(8);
    expect([q.shift(), q.shift(), q.shift()]).toEqual([7, 8, undefined]);
  });
});
