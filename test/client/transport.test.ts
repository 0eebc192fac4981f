/**
 * SocketTransport's receive queue (client/transport.ts): messages capnweb has not taken yet wait
 * in order, up to RECEIVE_QUEUE_MESSAGES_MAX; one more breaks the session. The socket is a fake at
 * the I/O boundary: a listener table that the test delivers messages through.
 */
import { describe, expect, it } from 'vitest';
import { RECEIVE_QUEUE_MESSAGES_MAX, SocketTransport, type SocketLike } from '../../client/transport.js';

function fakeSocket(): SocketLike & { emit(type: string, event: unknown): void } {
  const listeners = new Map<string, Array<(event: unknown) => void>>();
  return {
    readyState: 1,
    send() {},
    close() {},
    addEventListener(type, listener) {
      listeners.set(type, [...(listeners.get(type) ?? []), listener]);
    },
    emit(type, event) {
      for (const l of listeners.get(type) ?? []) l(event);
    },
  };
}

describe('SocketTransport receive queue', () => {
  it('holds RECEIVE_QUEUE_MESSAGES_MAX unread messages in order, and breaks on one more', async () => {
    const socket = fakeSocket();
    const broken: Error[] = [];
    const transport = new SocketTransport(socket, (e) => broken.push(e));
    for (let i = 0; i < RECEIVE_QUEUE_MESSAGES_MAX; i++) socket.emit('message', { data: `m${i}` });
    expect(broken).toEqual([]);
    for (let i = 0; i < RECEIVE_QUEUE_MESSAGES_MAX; i++) expect(await transport.receive()).toBe(`m${i}`);

    for (let i = 0; i <= RECEIVE_QUEUE_MESSAGES_MAX; i++) socket.emit('message', { data: `n${i}` });
    expect(broken.map((e) => e.message)).toEqual([`more than ${RECEIVE_QUEUE_MESSAGES_MAX} unread messages`]);
    // What arrived before the overflow is still readable; then the failure.
    for (let i = 0; i < RECEIVE_QUEUE_MESSAGES_MAX; i++) expect(await transport.receive()).toBe(`n${i}`);
    await expect(transport.receive()).rejects.toThrow('unread messages');
  });
});
