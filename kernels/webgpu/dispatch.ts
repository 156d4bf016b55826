/**
 * Launch geometry shared by every WebGPU program of the package: a flat count of workgroups spread over
 * x, y, z so that no dimension exceeds maxComputeWorkgroupsPerDimension (65535 on most devices). Shaders
 * recover the flat index as x + y·nx + z·nx·ny.
 */
export function spreadDispatch(workgroups: number, maxPerDimension: number, kernel: string): [number, number, number] {
  if (workgroups === 0) return [0, 1, 1];
  const x = Math.max(1, Math.min(workgroups, maxPerDimension));
  const y = Math.min(Math.ceil(workgroups / x), maxPerDimension);
  const z = Math.ceil(workgroups / (x * y));
  if (z > maxPerDimension) {
    throw new Error(`${kernel} (webgpu): ${workgroups} workgroups exceed maxComputeWorkgroupsPerDimension³`);
  }
  return [x, y, z];
}
