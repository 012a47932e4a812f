const config = require('@backstage/cli/config/eslint-factory')(__dirname);

// Test code, run from source and never built: the rules of test files.
const testFiles = config.overrides.find(o =>
  o.files.includes('**/__testUtils__/**'),
);
config.overrides.push({ files: ['src/**'], rules: testFiles.rules });

module.exports = config;
