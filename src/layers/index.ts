/**
 * tfjs-flash-attention/layers: tfjs-layers layers built on flashAttention. A separate entry point, so that
 * users of the op alone never load @tensorflow/tfjs-layers. Importing it registers the layer's class for
 * model.save / tf.loadLayersModel (and the op's kernels, through the main entry).
 */
export {MultiHeadAttention} from './multi_head_attention';
export type {MultiHeadAttentionCallOptions} from './multi_head_attention';
export type {MultiHeadAttentionArgs} from './args';
export type {InitializerLike, SerializedInitializer} from './initializer';
