/** @type {import('jest').Config} */
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  roots: ['<rootDir>/test'],
  transform: {
    '^.+\\.(t|j)s$': ['ts-jest', { tsconfig: { ...require('./tsconfig.json').compilerOptions, allowJs: true, isolatedModules: true } }],
  },
  // jose 6 is ESM-only: let ts-jest transform it for jest's CommonJS runtime.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 30000,
  collectCoverageFrom: ['src/**/*.ts', '!src/main.ts'],
};
