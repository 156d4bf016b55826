// Run inside the consumer project: CommonJS `require` of the package and its layers entry, one call on cpu.
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const {flashAttention} = require('tfjs-flash-attention');
const {MultiHeadAttention} = require('tfjs-flash-attention/layers');
const {check} = require('./check_call.cjs');
check(tf, flashAttention, MultiHeadAttention, 'require').catch(e => { console.error(e); process.exit(1); });
