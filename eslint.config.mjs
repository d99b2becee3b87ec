import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: ["node_modules/**", "dist/**", "coverage/**", "**/*.js", "**/*.mjs", "app/dist/**", ".state/**"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Tests poke at untyped engine payloads.
    files: ["test/**/*.ts", "**/__tests__/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
);
