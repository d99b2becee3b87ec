import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
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
  {
    // The Pulumi programs and components: an Output in a template literal renders as a warning
    // text, not its value (use pulumi.interpolate or .apply). Typed rules: the tsconfig's program.
    files: ["infra/**/*.ts", "stacks/**/*.ts", "bench/**/*.ts", "policy/**/*.ts"],
    ignores: ["**/__tests__/**"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { "@pulumi": pulumi },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
    },
  },
);
