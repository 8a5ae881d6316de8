// tests/interop/js/peers.mjs - loads the npm Parquet peers from the
// directory in $PD_NODE_MODULES (default: <repo>/.deps/npm/node_modules).
// hyparquet and hyparquet-writer are ESM packages; parquet-wasm's node entry
// point is CommonJS (wasm-bindgen "nodejs" target).
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
export const NODE_MODULES = process.env.PD_NODE_MODULES ||
  path.resolve(here, '../../../.deps/npm/node_modules')

export async function hyparquet() {
  return import(pathToFileURL(path.join(NODE_MODULES, 'hyparquet/src/node.js')).href)
}

export function parquetWasm() {
  const require = createRequire(path.join(NODE_MODULES, 'x.js'))
  return require(path.join(NODE_MODULES, 'parquet-wasm/node/parquet_wasm.js'))
}
