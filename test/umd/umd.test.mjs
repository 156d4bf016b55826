// The <script> build: tfjs's own UMD scripts, then dist/tf-flash-attention.min.js, in headless Chromium.
// Checks that the global tf gains flashAttention / quantizeFp8 / dequantizeFp8 / toFloat16 / fromFloat16 and that the op runs on cpu
// and matches a direct matMul → softmax → matMul in the page. Prints "umd: N passed, M failed".
import puppeteer from 'puppeteer-core';
import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);
const scripts = [
  require.resolve('@tensorflow/tfjs-core/dist/tf-core.min.js'),
  require.resolve('@tensorflow/tfjs-backend-cpu/dist/tf-backend-cpu.min.js'),
  new URL('../../dist/tf-flash-attention.min.js', import.meta.url).pathname,
];
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_BIN || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
let passed = 0, failed = 0;
const check = (name, ok, detail = '') => {
  ok ? passed++ : failed++;
  console.log(`  ${ok ? '✔' : '✖'} ${name}${detail ? ': ' + detail : ''}`);
};
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(String(e)));
  await page.setContent('<!doctype html><title>umd</title>');
  for (const path of scripts) await page.addScriptTag({path});
  const result = await page.evaluate(async () => {
    const tf = window.tf;
    await tf.setBackend('cpu');
    const q = tf.randomNormal([1, 6, 2, 8]), k = tf.randomNormal([1, 9, 2, 8]), v = tf.randomNormal([1, 9, 2, 8]);
    const out = tf.flashAttention(q, k, v);
    const t = x => tf.transpose(x, [0, 2, 1, 3]);
    const ref = t(tf.matMul(tf.softmax(tf.mul(tf.matMul(t(q), t(k), false, true), 1 / Math.sqrt(8))), t(v)));
    const diff = (await tf.max(tf.abs(tf.sub(out, ref))).data())[0];
    const fp8 = tf.quantizeFp8(q, {scale: 4});
    const back = tf.dequantizeFp8(fp8);
    const half = tf.toFloat16(q);
    const halfOut = tf.flashAttention(half, k, v);
    const halfDiff = (await tf.max(tf.abs(tf.sub(halfOut, tf.flashAttention(tf.fromFloat16(half), k, v)))).data())[0];
    return {
      functions: ['flashAttention', 'quantizeFp8', 'dequantizeFp8', 'toFloat16', 'fromFloat16', 'isFloat16Tensor'].every(n => typeof tf[n] === 'function'),
      diff, fp8Shape: back.shape, halfDiff, isHalf: tf.isFloat16Tensor(half),
    };
  });
  check('the script adds tf.flashAttention, tf.quantizeFp8, tf.dequantizeFp8, tf.toFloat16, tf.fromFloat16', result.functions);
  check('tf.flashAttention matches matMul → softmax → matMul in the page', result.diff < 1e-5, `max |diff| ${result.diff}`);
  check('tf.dequantizeFp8(tf.quantizeFp8(q)) keeps q\'s shape', JSON.stringify(result.fp8Shape) === '[1,6,2,8]');
  check('tf.flashAttention takes tf.toFloat16(q) as its decoded values', result.isHalf && result.halfDiff === 0, `max |diff| ${result.halfDiff}`);
  check('no page errors', errors.length === 0, errors.join('; '));
} catch (e) {
  check('the page ran', false, String(e) + ' ' + errors.join('; '));
} finally {
  await browser.close();
}
console.log(`umd: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
