/**
 * What browsers need: CORS (preflight without a token, responses readable cross-origin) and a
 * WebSocket token in `?token=` because a browser WebSocket cannot set headers. The query
 * parameter is accepted on WebSocket upgrades only.
 */
import { describe, expect, it } from 'vitest';
import { freshName, workerFetch, FULL } from './helpers.js';

describe('browser access', () => {
  it('answers preflights and marks responses readable from any origin', async () => {
    const pre = await workerFetch('/db/x/query', { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-headers': 'authorization' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
    const r = await workerFetch(`/db/${freshName()}/query`, { method: 'POST', headers: { authorization: `Bearer ${FULL}` }, body: JSON.stringify({ sql: 'SELECT 1' }) });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    const refused = await workerFetch('/db/x/query', { method: 'POST', body: '{}' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('takes ?token= on WebSocket upgrades only', async () => {
    const name = freshName();
    const ws = await workerFetch(`/db/${name}?token=${encodeURIComponent(FULL)}`, { headers: { upgrade: 'websocket' } });
    expect(ws.status).toBe(101);
    ws.webSocket!.accept();
    ws.webSocket!.close();
    const plain = await workerFetch(`/db/${name}/query?token=${encodeURIComponent(FULL)}`, { method: 'POST', body: JSON.stringify({ sql: 'SELECT 1' }) });
    expect(plain.status).toBe(401);
    const wrong = await workerFetch(`/db/${name}?token=nope`, { headers: { upgrade: 'websocket' } });
    expect(wrong.status).toBe(401);
  });
});
