// ESLint: the JavaScript recommended rules and typescript-eslint's recommended-type-checked, over the TypeScript
// sources (type information from tsconfig.json) and the plain-JavaScript scripts. Formatting is Prettier's.
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["build/", "node_modules/"] },
    eslint.configs.recommended,
    tseslint.configs.recommendedTypeChecked,
    {
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
        rules: {
            // `const { dropped: _, ...rest } = x` is how a field is left out of a copy.
            "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true }],
            // node:test's describe/it return promises the runner itself awaits; every other promise must be handled.
            "@typescript-eslint/no-floating-promises": [
                "error",
                {
                    allowForKnownSafeCalls: [
                        {
                            from: "package",
                            package: "node:test",
                            name: ["describe", "it", "test", "suite", "before", "after", "beforeEach", "afterEach"],
                        },
                    ],
                },
            ],
        },
    },
    {
        // Tests read untyped data and assert on its shape: Pulumi mock inputs (recorded as the provider would get
        // them), YAML and JSON of the generated configs, `pulumi stack export` and `--json` output, HTTP bodies of the
        // probe app. The assertion is the check; a declared type for each read would be a cast that checks nothing.
        // The product code (components/, tools/, index.ts) keeps these rules.
        files: ["tests/**/*.ts"],
        rules: {
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-unsafe-argument": "off",
            "@typescript-eslint/no-unsafe-assignment": "off",
            "@typescript-eslint/no-unsafe-call": "off",
            "@typescript-eslint/no-unsafe-member-access": "off",
            "@typescript-eslint/no-unsafe-return": "off",
        },
    },
    {
        // Node.js CommonJS scripts (scripts/gen-config-docs.js, the test push server): no type information, require() is how they import.
        files: ["**/*.js", "**/*.mjs"],
        extends: [tseslint.configs.disableTypeChecked],
        languageOptions: {
            sourceType: "commonjs",
            globals: {
                require: "readonly",
                module: "writable",
                __dirname: "readonly",
                process: "readonly",
                console: "readonly",
                Buffer: "readonly",
                setTimeout: "readonly",
                clearTimeout: "readonly",
                setInterval: "readonly",
                clearInterval: "readonly",
            },
        },
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
    {
        files: ["eslint.config.mjs"],
        languageOptions: { sourceType: "module" },
    },
);
