/** Unit specs sit beside the engine's modules; end-to-end specs live in test/. */
module.exports = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '.',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  transform: {
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true }],
    // The web page's ES modules (public/js), compiled to CommonJS for the specs of its pure helpers.
    '^.+/public/js/.+\\.js$': ['ts-jest', { isolatedModules: true }],
  },
  testEnvironment: 'node',
  testTimeout: 60000,
  // Which databases the end-to-end suites run on (SQLite, and PostgreSQL where it answers).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
};
