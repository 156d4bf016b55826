/**
 * WGSL: IEEE propagation of a NaN score into a row's output and LSE (SPEC: "NaN or Inf inside q/k/v
 * propagate like IEEE math"), with bit tests only. WGSL leaves max, exp2 and log2 of a NaN indeterminate,
 * and SwiftShader's Vulkan driver shows it: exp2(NaN) came out +inf or a large finite number, so the LSE
 * of a row holding a NaN score was +inf or ~90 instead of NaN.
 *   - the main pass keeps, per row, the largest |s| as bits (a NaN is above +inf's 0x7f800000; masked
 *     scores are -inf, exactly 0x7f800000); a row with a NaN score, or with m = +inf (exp(inf - inf) is
 *     NaN in the reference), hands on l = NaN;
 *   - the epilogues (whole-key and split merge) test l's bits and select NaN for O and the LSE.
 * Adding a NaN is exact IEEE on every device, so a row's l reduced over threads or splits stays NaN.
 */
export const NAN_WGSL = `
fn magnitudeBits(x : f32) -> u32 {
  return bitcast<u32>(x) & 0x7fffffffu;
}

fn isNonFinite(x : f32) -> bool {
  return magnitudeBits(x) >= 0x7f800000u;
}
`;
