// tests/interop/js/pw_rewrite.mjs - parquet-wasm (arrow-rs compiled to
// WebAssembly) as a Parquet *writer*: read IN (with arrow-rs) and write OUT
// with the given codec and options, so OUT is encoded by arrow-rs.
//
// node pw_rewrite.mjs IN OUT CODEC [--v2] [--nodict] [--rg N] [--page N]
//   CODEC: uncompressed snappy gzip brotli zstd lz4_raw
import fs from 'node:fs'
import { parquetWasm } from './peers.mjs'

const pw = parquetWasm()
const [inPath, outPath, codecName, ...rest] = process.argv.slice(2)
const codecs = {
  uncompressed: pw.Compression.UNCOMPRESSED, snappy: pw.Compression.SNAPPY,
  gzip: pw.Compression.GZIP, brotli: pw.Compression.BROTLI, zstd: pw.Compression.ZSTD,
  lz4_raw: pw.Compression.LZ4_RAW,
}
if (!(codecName in codecs)) {
  console.error(`pw_rewrite: unknown codec ${codecName}`)
  process.exit(2)
}
let props = new pw.WriterPropertiesBuilder().setCompression(codecs[codecName])
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === '--v2') props = props.setWriterVersion(pw.WriterVersion.V2)
  else if (rest[i] === '--nodict') props = props.setDictionaryEnabled(false)
  else if (rest[i] === '--rg') props = props.setMaxRowGroupSize(Number(rest[++i]))
  else if (rest[i] === '--page') props = props.setDataPageSizeLimit(Number(rest[++i]))
  else { console.error(`pw_rewrite: unknown option ${rest[i]}`); process.exit(2) }
}
const table = pw.readParquet(new Uint8Array(fs.readFileSync(inPath)))
const bytes = pw.writeParquet(table, props.build())
fs.writeFileSync(outPath, bytes)
