// Reads the runners' logs and prints the per-backend counts and one closing line "N passed, N failed".
import {readFileSync, existsSync} from 'node:fs';

const dir = process.argv[2];
let passed = 0, failed = 0, skipped = 0;
const read = name => (existsSync(`${dir}/${name}`) ? readFileSync(`${dir}/${name}`, 'utf8') : '');
const node = read('node.log'), browser = read('browser.log'), page = read('page.log'), umd = read('umd.log');
const consumer = read('consumer.log');

console.log('\n== per backend (case table + property + FP8 + API + errors)');
for (const [where, log] of [['node', node], ['chromium', browser]]) {
  for (const m of log.matchAll(/\b(cpu|webgl|webgpu): (\d+) passed, (\d+) failed/g)) console.log(`  ${where} ${m[1]}: ${m[2]} passed, ${m[3]} failed`);
  for (const m of log.matchAll(/SKIPPED backend (\w+): (.*?)'?$/gm)) console.log(`  ${where} ${m[1]}: skipped (${m[2]})`);
}
const num = (re, log) => Number((log.match(re) ?? [])[1] ?? 0);
passed += num(/(\d+) passing/, node); failed += num(/(\d+) failing/, node); skipped += num(/(\d+) pending/, node);
passed += num(/✔ (\d+) tests? completed/, browser); failed += num(/✖ (\d+) tests? failed/, browser); skipped += num(/ℹ (\d+) tests? skipped/, browser);
for (const [name, log] of [['page', page], ['umd', umd], ['consumer', consumer]]) {
  passed += num(new RegExp(`${name}: (\\d+) passed`), log);
  failed += num(new RegExp(`${name}: \\d+ passed, (\\d+) failed`), log);
}
if (!/passing|failing/.test(node) || !/tests? completed|tests? failed/.test(browser) || !/umd: \d+ passed/.test(umd) ||
    !/consumer: \d+ passed/.test(consumer)) {
  console.log('a test runner printed no result');
  failed += 1;
}
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
