/**
 * Two projects: `node` runs the engine's tests in Node (everything under test/ except
 * test/workers/), and `workers` runs test/workers/ inside workerd through
 * @cloudflare/vitest-pool-workers, against the real Worker (server/worker.ts) and its Durable
 * Object, configured by wrangler.toml plus test-only vars (tokens, small limits).
 */
import { defineConfig } from 'vitest/config';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { TEST_LIMITS, TEST_SINGLE_TOKEN, TEST_TOKENS } from './test/workers/config.js';

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/workers/**', 'node_modules/**'],
        },
      },
      {
        extends: true,
        plugins: [
          cloudflareTest({
            main: './server/worker.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                DOSQL_TOKEN: TEST_SINGLE_TOKEN,
                DOSQL_TOKENS: JSON.stringify(TEST_TOKENS),
                DOSQL_LIMITS: JSON.stringify(TEST_LIMITS),
              },
            },
          }),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
    ],
  },
});
