/**
 * One jest project per suite. `npm test` runs them all (scripts/test-all.sh);
 * `npm run test:<suite>` runs one.
 */
const tsJest = { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] };

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      transform: tsJest,
      testMatch: ["<rootDir>/infra/**/__tests__/**/*.test.ts", "<rootDir>/test/unit/**/*.test.ts"],
    },
    {
      displayName: "salt",
      testEnvironment: "node",
      transform: tsJest,
      testMatch: ["<rootDir>/test/salt/**/*.test.ts"],
    },
    {
      displayName: "engine",
      testEnvironment: "node",
      transform: tsJest,
      testMatch: ["<rootDir>/test/engine/**/*.test.ts"],
    },
    {
      displayName: "e2e",
      testEnvironment: "node",
      transform: tsJest,
      testMatch: ["<rootDir>/test/e2e/**/*.test.ts"],
    },
    {
      displayName: "app",
      testEnvironment: "node",
      transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "app/tsconfig.json" }] },
      testMatch: ["<rootDir>/app/**/*.test.ts"],
    },
    {
      displayName: "policy",
      testEnvironment: "node",
      transform: tsJest,
      testMatch: ["<rootDir>/policy/__tests__/**/*.test.ts"],
    },
    {
      // Packs the package, installs it into a copy of examples/consumer and runs that project's tests.
      displayName: "package",
      testEnvironment: "node",
      transform: tsJest,
      testMatch: ["<rootDir>/test/package/**/*.test.ts"],
    },
  ],
};
