/** The tokenizer on its own: token kinds, values and the cases SQLite's tokenizer special-cases. */
import { describe, expect, it } from 'vitest';
import { Real } from '../../base/values.js';
import { tokenize } from '../../query/lexer.js';

const kinds = (sql: string) => tokenize(sql).map((t) => `${t.type}:${t.text}`);

describe('tokenize', () => {
  it('splits operators greedily', () => {
    expect(kinds('a||b->c->>d<=e>=f<>g!=h==i<<j>>k')).toEqual([
      'id:a', 'op:||', 'id:b', 'op:->', 'id:c', 'op:->>', 'id:d', 'op:<=', 'id:e', 'op:>=', 'id:f',
      'op:<>', 'id:g', 'op:!=', 'id:h', 'op:==', 'id:i', 'op:<<', 'id:j', 'op:>>', 'id:k', 'eof:',
    ]);
  });

  it('marks keywords case-insensitively and unquotes identifiers', () => {
    const t = tokenize('select "a""b" [c d] `e` Sel_ect');
    expect(t.map((x) => [x.type, x.text, x.kw])).toEqual([
      ['id', 'select', 'SELECT'],
      ['qid', 'a"b', null],
      ['qid', 'c d', null],
      ['qid', 'e', null],
      ['id', 'Sel_ect', null],
      ['eof', '', null],
    ]);
  });

  it('reads literals', () => {
    const t = tokenize("'a''b' X'0aFF' 42 1.5 .5 5. 1e3 0x1f 9223372036854775808 ?12 :n @m $o");
    expect(t.map((x) => x.type)).toEqual([
      'string', 'blob', 'integer', 'float', 'float', 'float', 'float', 'integer', 'float', 'param', 'param', 'param', 'param', 'eof',
    ]);
    expect(t[0]!.text).toBe("a'b");
    expect(t[1]!.value).toEqual(new Uint8Array([10, 255]));
    expect(t[2]!.value).toBe(42);
    expect(t[3]!.value).toBe(1.5);
    expect(t[5]!.value).toEqual(new Real(5));
    expect(t[6]!.value).toEqual(new Real(1000));
    expect(t[7]!.value).toBe(31);
    expect(t[8]!.value).toBe(9223372036854775808);
    expect(t.slice(9, 13).map((x) => x.text)).toEqual(['?12', ':n', '@m', '$o']);
  });

  it('skips comments, including an unterminated block comment', () => {
    expect(kinds('a -- x\nb /* y */ c /* z')).toEqual(['id:a', 'id:b', 'id:c', 'eof:']);
  });

  it('records offsets', () => {
    const t = tokenize('  ab + "c"');
    expect(t.map((x) => [x.pos, x.end])).toEqual([[2, 4], [5, 6], [7, 10], [10, 10]]);
  });

  it('turns malformed input into illegal tokens instead of throwing', () => {
    expect(tokenize("'abc")[0]).toMatchObject({ type: 'illegal', value: `unrecognized token: "'abc"` });
    expect(tokenize('#')[0]!.type).toBe('illegal');
    expect(tokenize('1x')[0]).toMatchObject({ type: 'illegal', text: '1x' });
  });

  it('treats non-ASCII characters as identifier characters', () => {
    expect(kinds('café × ü')).toEqual(['id:café', 'id:×', 'id:ü', 'eof:']);
  });
});
