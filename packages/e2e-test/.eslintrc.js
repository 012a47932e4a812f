const config = require('@backstage/cli/config/eslint-factory')(__dirname);

// Everything in this package is test code, run from source and never built:
// its shared fixtures (src/fixtures) and the compatibility check (src/compat) get the rules of test files, as they
// had as the module's __testUtils__ (e.g. finding the example packages from
// __dirname).
const testFiles = config.overrides.find(o =>
  o.files.includes('**/__testUtils__/**'),
);
config.overrides.push({
  files: ['src/fixtures/**', 'src/compat/**', 'src/soak/**'],
  rules: testFiles.rules,
});

module.exports = config;
