// Runs test/browser/index.ts (bundled into .test-build/browser.test.js) in Debian's headless Chromium, where webgl and webgpu run on SwiftShader.
// Flags from shared/ENVIRONMENT.md: base 'Chrome' (ChromeHeadless adds --disable-gpu), unsafe WebGPU on.
process.env.CHROME_BIN = process.env.CHROME_BIN || '/usr/bin/chromium';

module.exports = config => {
  config.set({
    frameworks: ['mocha'],
    // Built by scripts/build_tests.mjs (npm run test:browser builds it first).
    files: [{pattern: '.test-build/browser.test.js', watched: false}],
    browsers: ['ChromiumSwiftShader'],
    customLaunchers: {
      ChromiumSwiftShader: {
        base: 'Chrome',
        flags: ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
                '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader',
                '--remote-debugging-port=9333'],
      },
    },
    client: {
      // FA_GREP narrows the run to matching tests (mocha's grep), for development.
      mocha: {timeout: 300000, ...(process.env.FA_GREP ? {grep: process.env.FA_GREP} : {})},
      faEnv: {FA_BACKENDS: process.env.FA_BACKENDS || '', FA_SEED: process.env.FA_SEED || ''},
      captureConsole: true,
    },
    reporters: ['mocha'],
    mochaReporter: {output: 'full'},
    singleRun: true,
    browserNoActivityTimeout: 1200000,
    browserDisconnectTimeout: 120000,
    captureTimeout: 120000,
    logLevel: config.LOG_INFO,
  });
};
