/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node', // mqtt.js's "browser" entry is ESM; keep jest on node resolution
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/globalSetup.ts',
  testTimeout: 60000,
  // Suites share one Kafka and one kinesalite; two workers match this 2-core machine.
  maxWorkers: 2,
};
