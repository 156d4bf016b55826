/** Number formatting for the page. */
export const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) + ' ms';
export const tflops = (x: number) =>
    x >= 0.1 ? `${x.toFixed(2)} TFLOP/s` : x >= 1e-4 ? `${(x * 1000).toFixed(1)} GFLOP/s` : `${(x * 1e6).toPrecision(2)} MFLOP/s`;
export const gbs = (x: number) => (x >= 10 ? x.toFixed(0) : x >= 0.1 ? x.toFixed(2) : x.toPrecision(2)) + ' GB/s';
export const bytes = (b: number) =>
    b >= 2 ** 30 ? (b / 2 ** 30).toFixed(2) + ' GiB' : b >= 2 ** 20 ? (b / 2 ** 20).toFixed(1) + ' MiB' : (b / 1024).toFixed(1) + ' KiB';
export const diff = (x: number) => (Number.isNaN(x) ? 'NaN' : x === 0 ? '0' : x.toExponential(1));
export const errorText = (e: unknown) => (e instanceof Error ? `${e.name === 'Error' ? '' : e.name + ': '}${e.message}` : String(e));
export const lossText = (x: number) => (x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential(2) : x.toFixed(4));
