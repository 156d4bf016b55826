// Run inside the consumer project: ESM `import` of the package and its layers entry, one call on cpu.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {flashAttention} from 'tfjs-flash-attention';
import {MultiHeadAttention} from 'tfjs-flash-attention/layers';
import checkCall from './check_call.cjs';

await checkCall.check(tf, flashAttention, MultiHeadAttention, 'import');
