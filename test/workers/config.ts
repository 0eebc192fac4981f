/**
 * Test-only configuration of the workers project, imported by vitest.config.ts (as Worker vars)
 * and by the tests. Never used outside tests.
 */
export const TEST_TOKENS = [
  { token: 'test-full-access-token' },
  { token: 'test-read-only-token', readOnly: true },
  { token: 'test-prefix-token', databases: { prefix: 'app-' } },
  { token: 'test-list-token', databases: ['listed-1', 'listed-2'] },
];

export const TEST_SINGLE_TOKEN = 'test-single-token';

/** Small limits so that "at the limit and one past it" stays fast in workerd. */
export const TEST_LIMITS = {
  sqlTextCharsMax: 20_000,
  paramsPerCallMax: 100,
  rowsPerResultMax: 500,
  resultBytesMax: 64 * 1024,
  requestBodyBytesMax: 128 * 1024,
  // Interactive transactions (test/workers/transactions.test.ts): a short idle timeout, so that
  // the abandoned-transaction test waits for real but briefly, and a small open bound.
  transactionIdleMsMax: 800,
  transactionsOpenMax: 4,
  batchStatementsMax: 50,
};
