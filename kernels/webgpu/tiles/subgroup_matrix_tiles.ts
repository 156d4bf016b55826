/**
 * Matrix tiles on Dawn's subgroup matrices (`chromium_experimental_subgroup_matrix`, Vulkan cooperative
 * matrices: the tensor cores on NVIDIA), f16×f16→f32 at 16×16×16. A tile group is one subgroup, so this
 * path needs a device whose subgroups are exactly GROUP_SIZE invocations wide (capabilities.ts checks).
 */
import {Fragment, MatrixTiles, Operand} from './matrix_tiles';

const ACC = 'subgroup_matrix_result<f32, 16, 16>';

export const subgroupMatrixTiles: MatrixTiles = {
  kind: 'subgroup-matrix',
  enables: 'enable f16;\nenable subgroups;\nenable chromium_experimental_subgroup_matrix;\n',
  tileType: 'f16',
  tileBytes: 2,
  fragmentsHoldValues: true,
  helpers: '',
  toTile: x => `f16(${x})`,
  declareAcc: name => `var ${name} = ${ACC}();`,
  fragment(name: string, role: 'left'|'right', op: Operand) {
    return {
      code: `let ${name} = subgroupMatrixLoad<subgroup_matrix_${role}<f16, 16, 16>>(&${op.array}, ${op.offset}u, ${op.colMajor}, ${op.stride}u);`,
      fragment: {...op, name, role},
    };
  },
  mma: (acc: string, left: Fragment, right: Fragment) =>
      `${acc} = subgroupMatrixMultiplyAccumulate(${left.name}, ${right.name}, ${acc});`,
  shuffleXor: (x: string, mask: number) => `subgroupShuffleXor(${x}, ${mask}u)`,
  storeAcc: (acc, array, offset, stride) => `subgroupMatrixStore(&${array}, ${offset}u, ${acc}, false, ${stride}u);`,
  loadAcc: (acc, array, offset, stride) => `${acc} = subgroupMatrixLoad<${ACC}>(&${array}, ${offset}u, false, ${stride}u);`,
};
